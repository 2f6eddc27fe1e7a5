#!/usr/bin/env node
import { main } from '../dist/index.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // Last line of defence: commands report their own errors; anything reaching here is a bug.
    console.error(`semembed: internal error: ${err && err.stack ? err.stack : err}`);
    process.exitCode = 70;
  },
);
