// Runs one CLI command in this process and reports wall time and peak RSS on stderr as JSON:
// the benchmark's view of a whole `semembed` run (start-up, parse, solve, write).
import { main } from '../../tools/cli/dist/index.js';

const t0 = performance.now();
const code = await main(process.argv.slice(2));
const seconds = (performance.now() - t0) / 1000;
process.stderr.write(
  `\n@@measure ${JSON.stringify({ code, seconds, maxRssMB: process.resourceUsage().maxRSS / 1024 })}\n`,
);
process.exitCode = code;
