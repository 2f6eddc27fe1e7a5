// One measured run in a fresh process: node convert-once.mjs convert|read in.h5 out.onnx
// Prints JSON {mode, wallMs, cpuMs (user + system of this process during the step), maxRssMB (peak of the process)}.
import { performance } from 'node:perf_hooks';
import { convertKeras, readKerasH5 } from '@semembed/converter';

const [mode, h5, out] = process.argv.slice(2);
const t0 = performance.now();
const c0 = process.cpuUsage();
if (mode === 'convert') await convertKeras({ h5, out });
else if (mode === 'convert-fp16') await convertKeras({ h5, out, fp16: true });
else await readKerasH5(h5);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(c0);
console.log(
  JSON.stringify({
    mode,
    wallMs: Math.round(wallMs),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
