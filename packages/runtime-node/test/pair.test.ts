import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertKeras } from '@semembed/converter';
import { loadModel } from '../src/index.js';
import { sha256OfFile } from '../src/integrity.js';
import { writeFashionCnnH5 } from './fashion-model.js';

// The converter writes model.onnx + model.json as a pair (temporaries, then renames; the sidecar records the
// ONNX file's sha256) and this package's loader refuses a pair from two different conversions.
const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
let dir: string;
let h5: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rn-pair-'));
  h5 = join(dir, 'fashion.h5');
  (await writeFashionCnnH5(h5)).dispose();
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sidecarSha = (json: string): unknown => JSON.parse(readFileSync(json, 'utf8')).source?.onnx_sha256;
const temporaries = (d: string): string[] => readdirSync(d).filter((f) => f.endsWith('.tmp'));

describe('the converter writes model.onnx + model.json as one pair', () => {
  it('records the ONNX hash; the loader refuses a mismatched pair with one clear line', async () => {
    const out = join(dir, 'a', 'model.onnx');
    rmSync(dirname(out), { recursive: true, force: true });
    mkdirSync(dirname(out), { recursive: true });
    await convertKeras({ h5, out });
    const json = out.replace(/\.onnx$/, '.json');
    expect(sidecarSha(json)).toBe(sha256OfFile(out));
    const ok = await loadModel(out, { ep: 'cpu', warmup: false });
    await ok.release();
    // The state a kill between the two renames leaves: the new .onnx beside the old .json.
    const oldJson = readFileSync(json);
    await convertKeras({ h5, out, fp16: true });
    writeFileSync(json, oldJson);
    await expect(loadModel(out, { ep: 'cpu', warmup: false })).rejects.toThrow(
      /does not match its sidecar model\.json .*different conversions/,
    );
    // A sidecar without the hash (older converters) still loads.
    const legacy = JSON.parse(oldJson.toString('utf8'));
    delete legacy.source.onnx_sha256;
    writeFileSync(json, JSON.stringify(legacy));
    const old = await loadModel(out, { ep: 'cpu', warmup: false });
    await old.release();
  });

  it('killed at random points, the pair on disk is never a silently mismatched one; leftovers go on the next run', async () => {
    const d = join(dir, 'kill');
    mkdirSync(d, { recursive: true });
    const out = join(d, 'model.onnx');
    const json = join(d, 'model.json');
    // A child that converts in a loop, alternating fp16 so consecutive pairs differ; killed with SIGKILL.
    const script = `import { convertKeras } from '@semembed/converter';
      for (let i = 0; ; i++) {
        await convertKeras({ h5: ${JSON.stringify(h5)}, out: ${JSON.stringify(out)}, fp16: i % 2 === 1 });
        if (i === 0) process.stdout.write('ready\\n'); // a pair exists; later kills land in rewrites of it
      }`;
    let seed = 20;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const states = { matched: 0, refused: 0, temporaries: 0 };
    const killedAt: number[] = [];
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: PKG,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((res, rej) => {
        child.stdout.once('data', () => res());
        child.once('exit', (code) => rej(new Error(`converter child exited with ${code} before it was ready`)));
      });
      const wait = Math.round(rand() * 300);
      killedAt.push(wait);
      await new Promise((r) => setTimeout(r, wait));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      if (temporaries(d).length > 0) states.temporaries++;
      expect(existsSync(out) && existsSync(json)).toBe(true);
      const matches = sidecarSha(json) === sha256OfFile(out);
      const load = loadModel(out, { ep: 'cpu', warmup: false });
      if (matches) {
        states.matched++;
        await (await load).release();
      } else {
        states.refused++;
        await expect(load).rejects.toThrow(/different conversions/);
      }
    }
    console.log(`convert killed after ${killedAt.join(', ')} ms: ${JSON.stringify(states)}`);
    expect(states.matched + states.refused).toBe(8);
    expect(states.matched).toBeGreaterThan(0);
    // The next run removes what killed runs left behind (plus one planted for a process that is surely gone),
    // but not a temporary of a writer that is still running.
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.once('exit', r));
    writeFileSync(join(d, `.model.json.${gone.pid}.0badc0de.tmp`), 'left over');
    const live = join(d, `.model.onnx.${process.pid}.00000001.tmp`);
    writeFileSync(live, 'being written');
    await convertKeras({ h5, out });
    expect(temporaries(d)).toEqual([live.split('/').pop()]);
    rmSync(live);
    expect(sidecarSha(json)).toBe(sha256OfFile(out));
  }, 60_000);
});
