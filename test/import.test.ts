import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { ROOT, semembed, spawnSemembed } from './helpers.js';

/** The CLI as a child process without blocking this process's event loop (the test's HTTP server lives here). */
async function semembedAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnSemembed(args);
  return { code: await p.exited, stdout: p.stdout(), stderr: p.stderr() };
}

const FIX = join(ROOT, 'packages', 'converter', 'test', 'fixtures', 'keras-h5');
const MODEL = join(FIX, 'dl4j__dcgan_discriminator.h5');

let server: Server;
let base = '';
const ranges: (string | undefined)[] = [];

beforeAll(async () => {
  const body = readFileSync(MODEL);
  // A real HTTP server with Range support, standing in for GitHub's release downloads.
  server = createServer((req, res) => {
    if (req.url !== '/releases/model.h5') {
      res.writeHead(404).end();
      return;
    }
    ranges.push(req.headers.range);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) {
      const start = Number(m[1]);
      res.writeHead(206, {
        'content-length': body.length - start,
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      });
      res.end(body.subarray(start));
    } else {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function catalog(dir: string, url: string, sha256: string | null, bytes: number | null): string {
  const p = join(dir, 'catalog.json');
  writeFileSync(
    p,
    JSON.stringify({
      format: 'semembed-model-catalog/1',
      source: 'test',
      models: [
        {
          name: 'gan',
          dataset: 'CIFAR-100',
          numClasses: 1,
          architecture: 'simple',
          inputSize: [28, 28],
          url,
          sha256,
          bytes,
          embedding: 'none',
          outputs: ['dense_1'],
          // a 1-channel stand-in: 'gray' (an 'rgb' entry would give a sidecar the runtimes refuse, and is refused)
          preprocessing: { colorSpace: 'gray', mean: [1], std: [2], meanStdFrom: 'test' },
          published: { mAHP250: null, balancedAccuracy: null },
        },
      ],
    }),
  );
  return p;
}

describe('semembed import', () => {
  it('downloads by catalog name (resuming a partial file), checks sha256, converts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-import-'));
    const body = readFileSync(MODEL);
    const sha = createHash('sha256').update(body).digest('hex');
    const cat = catalog(dir, `${base}/releases/model.h5`, sha, body.length);
    const cache = join(dir, 'cache');
    // A broken-off earlier download: the first 1000 bytes.
    mkdirSync(cache);
    writeFileSync(join(cache, 'model.h5.part'), body.subarray(0, 1000));
    ranges.length = 0;
    const r = await semembedAsync(['import', 'gan', '--catalog', cat, '--cache_dir', cache]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(ranges).toEqual(['bytes=1000-']);
    expect(readFileSync(join(cache, 'model.h5')).equals(body)).toBe(true);
    expect(existsSync(join(cache, 'model.h5.part'))).toBe(false);
    const side = JSON.parse(readFileSync(join(cache, 'gan.json'), 'utf8'));
    expect(side.source).toMatchObject({ catalog: 'gan', url: `${base}/releases/model.h5` });
    expect(side.preprocessing).toMatchObject({ mean: [1], std: [2], resize: [28, 28] });
    expect(r.stdout).toMatch(/Wrote .*gan\.onnx/);
  });

  it('a sha256 mismatch is refused and the file removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-import-'));
    const cat = catalog(dir, `${base}/releases/model.h5`, '0'.repeat(64), null);
    const r = await semembedAsync(['import', 'gan', '--catalog', cat, '--cache_dir', join(dir, 'c')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^semembed: .*model\.h5: sha256 [0-9a-f]{64} differs from the catalog's 0{64}/);
    expect(existsSync(join(dir, 'c', 'model.h5'))).toBe(false);
  });

  it('offline: a clear message with the URL to fetch by hand', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-import-'));
    // A port nobody listens on any more: the connection is refused, as on an offline machine.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const url = `http://127.0.0.1:${port}/releases/model.h5`;
    const cat = catalog(dir, url, null, null);
    const r = semembed(['import', 'gan', '--catalog', cat, '--cache_dir', join(dir, 'c')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `semembed: cannot download ${url} (ECONNREFUSED; no network?); fetch it by hand from ${url} and save it as ` +
        `${join(dir, 'c', 'model.h5')}, or run: semembed import --from <file> --architecture simple --dataset CIFAR-100\n`,
    );
  });

  it('the real catalog lists the ten released models', () => {
    const r = semembed(['import', '--list']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[1]).toMatch(
      /^cifar100-resnet-110-wfc\s+CIFAR-100\s+resnet-110-wfc\s+32x32\s+mAHP@250 83\.29%\s+balanced acc\. 76\.60%$/,
    );
  });

  it('--from a weights-only file with --architecture resnet-110-wfc --dataset CIFAR-100 works offline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-import-'));
    const h5 = join(dir, 'cifar_weights.h5');
    await writeWeightsOnly(h5);
    // The authors' released class embedding, as a user of their released models has it.
    const emb = fixturePath('cvjena/released/cifar100.unitsphere.pickle');
    const r = semembed(
      [
        'import',
        '--from',
        h5,
        '--architecture',
        'resnet-110-wfc',
        '--dataset',
        'CIFAR-100',
        '--embedding',
        emb,
        '--class_names',
        'hierarchies/Cifar-Hierarchy/class_names.txt',
        '--hierarchy',
        'hierarchies/Cifar-Hierarchy/cifar.parent-child.txt',
      ],
      { timeout: 300_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/outputs l2norm \(embedding, 100\), prob \(probabilities, 100\)/);
    const side = JSON.parse(readFileSync(join(dir, 'cifar_weights.json'), 'utf8'));
    expect(side.source).toMatchObject({ architecture: 'resnet-110-wfc', dataset: 'CIFAR-100' });
    expect(side.preprocessing.mean).toEqual([129.30386353, 124.06987, 112.43356323]);
    expect(side.classes).toHaveLength(100);
    const apple = side.classes.find((c: { name?: string }) => c.name === 'apple');
    expect(apple.path[apple.path.length - 1]).toBe('apple');
    expect(apple.path.length).toBeGreaterThan(2);
    expect(side.classEmbedding).toHaveLength(100);
    expect(side.classEmbedding[0]).toHaveLength(100);
  }, 300_000);
});

/** save_weights-style file for resnet-110-wfc with tf.js's random initial weights, by @semembed/formats' writer. */
async function writeWeightsOnly(path: string): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  const arch = await import('@semembed/architectures');
  const { modelWeights } = await import('@semembed/trainer');
  const { writeKerasH5 } = await import('@semembed/formats/keras-h5');
  const model = await arch.modelFromKerasConfig(
    tf,
    arch.buildArchitecture('resnet-110-wfc', { embeddingDim: 100, numClasses: 100, clsWeight: 0.1 }),
  );
  await writeKerasH5(path, { layers: await modelWeights(model) }, 'weights');
}
