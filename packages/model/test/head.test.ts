import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { OutputHead, TensorError, validateImageSidecar } from '../src/index.js';

const sidecar = validateImageSidecar(JSON.parse(readFileSync(fixturePath('models/fashion-tiny.json'), 'utf8')));

describe('OutputHead', () => {
  it('picks the outputs, normalises only undeclared embeddings, applies softmax to logits', () => {
    const outputs = [
      { name: 'e', kind: 'embedding', dim: 2 },
      { name: 'z', kind: 'logits', dim: 2 },
    ] as const;
    const head = new OutputHead('tiny', { ...sidecar, outputs: [...outputs], classEmbedding: undefined });
    const e = { data: Float32Array.of(3, 4, 0, 0), shape: [2, 2] };
    const [a, b] = head.interpret({ e, z: { data: Float32Array.of(0, Math.log(3), 5, 5), shape: [2, 2] } }, 2);
    expect(Array.from(a.embedding)).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(Array.from(b.embedding)).toEqual([0, 0]); // the one zero-row rule: zero stays zero
    expect(a.probabilities![0]).toBeCloseTo(0.25, 6);
    expect(Array.from(b.probabilities!)).toEqual([0.5, 0.5]);
    const normalised = new OutputHead('n', sidecar).interpret(
      { l2norm: { data: Float32Array.of(...new Array(12).fill(2)), shape: [1, 12] } },
      1,
    );
    expect(normalised[0].embedding[0]).toBe(2); // declared normalized: taken as it is
  });

  it('labels top and nearest classes from the sidecar, ties to the lower index', () => {
    const head = new OutputHead('tiny', sidecar);
    const p = new Float32Array(10);
    p[3] = 0.5;
    p[7] = 0.5;
    expect(head.topClasses(p, 2).map((c) => [c.index, c.name, c.score])).toEqual([
      [3, 'Dress', 0.5],
      [7, 'Sneaker', 0.5],
    ]);
    const ce = head.classEmbedding!;
    const e = ce.data.slice(4 * ce.dim, 5 * ce.dim);
    expect(head.nearestClasses(e, 1)[0]).toMatchObject({ index: 4, id: 4, path: sidecar.classes![4].path });
    expect(() => head.nearestClasses(new Float32Array(3))).toThrow(TensorError);
    expect(head.classInfo(99)).toEqual({ index: 99, id: 99 });
  });

  it('a plain classifier classifies; asking it for embeddings names its outputs', () => {
    const head = new OutputHead('cls', {
      ...sidecar,
      outputs: [{ name: 'prob', kind: 'probabilities', dim: 10 }],
      classEmbedding: undefined,
    });
    expect(
      head.interpret({ prob: { data: new Float32Array(10).fill(0.1), shape: [1, 10] } }, 1)[0].embedding,
    ).toHaveLength(0);
    expect(() => head.requireEmbedding('search')).toThrow(
      /^model cls has no embedding output \(its outputs: prob \(probabilities\)\), so it cannot search$/,
    );
  });
});
