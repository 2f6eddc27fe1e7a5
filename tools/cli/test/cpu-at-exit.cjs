// Preloaded (node --require) into a spawned CLI by test/run.ts: writes the process's own CPU time (user + system,
// microseconds, from its start) to file descriptor 3 as it exits, so a test can bound CPU, which does not depend on
// how busy the machine is, beside wall time, which does.
const { writeSync } = require('node:fs');
process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  try {
    writeSync(3, String(user + system));
  } catch {
    // fd 3 not open: not run by the test helper
  }
});
