import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { ROOT, semembed } from './run.js';

// The Keras file other packages' tests read too lives once, in @semembed/test-fixtures.
const BATCH_NORM_H5 = fixturePath('keras-h5/dl4j__cnn_batch_norm.h5');
const HIER = join(ROOT, 'hierarchies', 'fashion-mnist');

describe('semembed convert: ONNX metadata (issue #13)', () => {
  it('records the class-embedding method, the taxonomy hash and the class labels in the .onnx itself', () => {
    const d = mkdtempSync(join(tmpdir(), 'cli-meta-'));
    const h = join(HIER, 'fashion-mnist.parent-child.txt');
    const emb = join(d, 'emb.json');
    const ce = semembed(['compute-class-embedding', '--hierarchy', h, '--out', emb]);
    expect(ce.code, ce.stderr).toBe(0);
    const out = join(d, 'm.onnx');
    const r = semembed([
      'convert',
      BATCH_NORM_H5,
      out,
      '--embedding',
      emb,
      '--hierarchy',
      h,
      '--class_names',
      join(HIER, 'class_names.txt'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const meta = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          'import onnx,sys,json; m=onnx.load(sys.argv[1]); ' +
            'print(json.dumps({p.key: p.value for p in m.metadata_props}))',
          out,
        ],
        { encoding: 'utf8' },
      ),
    );
    expect(meta['semembed.class_embedding.method']).toBe('unitsphere');
    expect(meta['semembed.taxonomy.sha256']).toBe(createHash('sha256').update(readFileSync(h)).digest('hex'));
    const sidecar = JSON.parse(readFileSync(join(d, 'm.json'), 'utf8'));
    expect(JSON.parse(meta['semembed.class_labels'])).toEqual(sidecar.classes.map((c: { name: string }) => c.name));
    expect(JSON.parse(meta['semembed.classes'])).toEqual(sidecar.classes);
  });
});
