import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mulberry32, writeNpy } from '@semembed/formats';
import { loadIndex } from '@semembed/retrieval';
import { semembed } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'idx-'));

describe('semembed index build', () => {
  const n = 3000,
    dim = 16;
  const rnd = mulberry32(9);
  const x = Float32Array.from({ length: n * dim }, () => rnd() - 0.5);
  const feat = join(dir, 'g.npy');
  writeNpy(feat, { data: x, shape: [n, dim] });
  const labels = join(dir, 'g.txt');
  writeFileSync(labels, Array.from({ length: n }, (_, i) => [3, 42, 43][i % 3]).join('\n'));

  it.each([
    ['HNSW32', ['--ef_search', '64']],
    ['IVF16,Flat', ['--nprobe', '16']],
  ] as const)(
    '%s: writes index + sidecar and reports recall vs exact',
    (factory, extra) => {
      const out = join(dir, `${factory.replace(',', '_')}.index`);
      const r = semembed([
        'index',
        'build',
        '--features',
        feat,
        '--labels',
        labels,
        '--out',
        out,
        '--factory',
        factory,
        '--recall_queries',
        '200',
        ...extra,
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const m = /recall@10 against the exact index on 200 queries: ([0-9.]+)/.exec(r.stdout);
      expect(m).not.toBeNull();
      // nprobe = all 16 lists makes IVF exhaustive; HNSW with efSearch 64 on 3000 points is near exact
      expect(Number(m![1])).toBeGreaterThan(factory === 'HNSW32' ? 0.9 : 0.999);
      const { index, meta } = loadIndex(out);
      expect(index.ntotal()).toBe(n);
      expect(meta.labels).toHaveLength(n);
      expect(meta.factory).toBe(factory);
      expect(existsSync(`${out}.json`)).toBe(true);
      expect(JSON.parse(readFileSync(`${out}.json`, 'utf8')).dim).toBe(dim);
    },
    120_000,
  );

  it('a bad factory string is a clear error', () => {
    const r = semembed([
      'index',
      'build',
      '--features',
      feat,
      '--out',
      join(dir, 'bad.index'),
      '--factory',
      'NoSuchIndex',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^semembed: --factory "NoSuchIndex": FAISS cannot build it/);
    expect(existsSync(join(dir, 'bad.index'))).toBe(false);
  }, 60_000);
});
