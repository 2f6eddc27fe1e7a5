import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { UserError } from '@semembed/formats';
import {
  SIDECAR_VERSION,
  SidecarError,
  migrateSidecar,
  parseSidecarJson,
  validateImageSidecar,
  validateSidecar,
  validateWrittenSidecar,
} from '../src/index.js';

// The shared test models' sidecars (@semembed/test-fixtures) are version 1: make_models.py writes no version field.
const fixture = (name: string) => JSON.parse(readFileSync(fixturePath(`models/${name}`), 'utf8'));

describe('sidecar versions', () => {
  it("loads a version-1 sidecar (no version field) as version 2 without changing the caller's object", () => {
    const v1 = fixture('fashion-tiny.json');
    const before = JSON.stringify(v1);
    const s = validateImageSidecar(v1, 'm.json');
    expect(v1.version).toBeUndefined();
    expect(s.version).toBe(SIDECAR_VERSION);
    expect(JSON.stringify(v1)).toBe(before);
    expect(s.preprocessing).toEqual(v1.preprocessing);
    expect(s.classes).toHaveLength(10);
  });

  it('fills the defaults a version-1 writer could leave out (crop, dtype)', () => {
    const v1 = fixture('rgb-nchw.json');
    delete v1.preprocessing.crop;
    delete v1.input.dtype;
    const s = validateImageSidecar(v1);
    expect(s.preprocessing.crop).toBe('center');
    expect(s.input.dtype).toBe('float32');
    expect(v1.preprocessing.crop).toBeUndefined();
  });

  it('refuses a sidecar from a newer writer by name', () => {
    expect(() => migrateSidecar({ ...fixture('fashion-tiny.json'), version: 3 }, 'new.json')).toThrow(
      /^new\.json: version: 3 was written by a newer semembed; this one reads versions 1 to 2$/,
    );
  });
});

describe('sidecar validation names the field', () => {
  const gray = fixture('fashion-tiny.json');
  const rgb = fixture('rgb-nchw.json');
  const cases: [string, unknown, RegExp][] = [
    ['format', { ...gray, format: 'x' }, /^m\.json: format: must be "semembed-onnx-sidecar\/1" \(got "x"\)$/],
    [
      'layout',
      { ...gray, input: { ...gray.input, layout: 'HWC' } },
      /^m\.json: input\.layout: must be one of "NHWC", "NCHW" \(got "HWC"\)$/,
    ],
    [
      'mean (gray)',
      { ...gray, preprocessing: { ...gray.preprocessing, mean: [1, 2] } },
      /^m\.json: preprocessing\.mean: must have 1 entry \(got \[1,2\]\)$/,
    ],
    [
      'mean (rgb)',
      { ...rgb, preprocessing: { ...rgb.preprocessing, mean: [1, 2] } },
      /^m\.json: preprocessing\.mean: must have 1 or 3 entries \(got \[1,2\]\)$/,
    ],
    [
      'std 0',
      { ...gray, preprocessing: { ...gray.preprocessing, std: [0] } },
      /^m\.json: preprocessing\.std\[0\]: must not be 0$/,
    ],
    [
      'std type',
      { ...gray, preprocessing: { ...gray.preprocessing, std: ['1'] } },
      /^m\.json: preprocessing\.std\[0\]: must be number \(got "1"\)$/,
    ],
    [
      'resize',
      { ...gray, preprocessing: { ...gray.preprocessing, resize: [32, 32] } },
      /^m\.json: preprocessing\.resize: \[32,32\] differs from the input size \[28, 28\]$/,
    ],
    [
      'typo',
      { ...gray, preprocessing: { ...gray.preprocessing, colourSpace: 'rgb' } },
      /^m\.json: preprocessing\.colourSpace: is not a known field$/,
    ],
    ['missing', { ...gray, preprocessing: undefined }, /^m\.json: preprocessing: is missing/],
    ['outputs', { ...gray, outputs: [] }, /^m\.json: outputs: must have at least 1 entry \(got \[\]\)$/],
    [
      'kind',
      { ...gray, outputs: [{ name: 'x', kind: 'scores' }] },
      /^m\.json: outputs\[0\]\.kind: must be one of "embedding", .* \(got "scores"\)$/,
    ],
    [
      'embedding',
      { ...gray, classEmbedding: [[1, 2]] },
      /^m\.json: classEmbedding: rows have 2 values, the embedding output "l2norm" has 12$/,
    ],
    ['ragged', { ...gray, classEmbedding: [[1, 2], [1]] }, /^m\.json: classEmbedding\[1\]: has 1 values, row 0 has 2$/],
    [
      'gray with 3 channels',
      { ...rgb, preprocessing: { ...rgb.preprocessing, colorSpace: 'gray' } },
      /^m\.json: preprocessing\.colorSpace: "gray" does not fit 3 input channel\(s\)$/,
    ],
    [
      'bgr with 1 channel',
      { ...gray, preprocessing: { ...gray.preprocessing, colorSpace: 'bgr' } },
      /^m\.json: preprocessing\.colorSpace: "bgr" does not fit 1 input channel\(s\)$/,
    ],
    [
      'channels',
      { ...gray, input: { ...gray.input, channels: 2 } },
      /^m\.json: input\.channels: must be 1 or 3 \(got 2\)$/,
    ],
    [
      'dimension',
      { ...gray, input: { ...gray.input, shape: [null, 28, '28', 1] } },
      /^m\.json: input\.shape\[2\]: must be a positive integer or null \(got "28"\)$/,
    ],
    [
      'class id',
      { ...gray, classes: [{ index: 0, id: true }] },
      /^m\.json: classes\[0\]\.id: must be a number or a string \(got true\)$/,
    ],
    ['not an object', [], /^m\.json: not a JSON object \(got \[\]\)$/],
  ];
  for (const [what, raw, re] of cases) {
    it(what, () => {
      expect(() => validateImageSidecar(raw, 'm.json')).toThrow(re);
      let err: unknown;
      try {
        validateImageSidecar(raw, 'm.json');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SidecarError);
      expect(err).toBeInstanceOf(UserError);
      expect(err).toMatchObject({ code: 'SIDECAR_INVALID', exitCode: 1 });
    });
  }

  it('accepts bgr for 3 channels and keeps it (no silent rgb)', () => {
    const s = validateImageSidecar({ ...rgb, preprocessing: { ...rgb.preprocessing, colorSpace: 'bgr' } });
    expect(s.preprocessing.colorSpace).toBe('bgr');
  });

  it('validateSidecar alone takes models whose input is not an image', () => {
    const input = { name: 'x', layout: 'NHWC', shape: [null, 7], dtype: 'float32', channels: 7 };
    const s = validateSidecar({
      format: 'semembed-onnx-sidecar/1',
      model: 'm.onnx',
      input,
      outputs: [{ name: 'y', kind: 'other', dim: null }],
    });
    expect(s.preprocessing).toBeUndefined();
    expect(() => validateImageSidecar(s)).toThrow(/input\.channels: must be 1 or 3 \(got 7\)/);
  });

  it('a writer gets the image rules only where the runtimes could feed images', () => {
    expect(() =>
      validateWrittenSidecar({ ...gray, preprocessing: { ...gray.preprocessing, mean: [1, 2] } }, 'w.json'),
    ).toThrow(/^w\.json: preprocessing\.mean: must have 1 entry/);
    const open = { ...rgb, input: { ...rgb.input, shape: [null, 3, null, null] } }; // dynamic H/W: no image rules
    expect(validateWrittenSidecar(open).input.shape).toEqual([null, 3, null, null]);
  });

  it('names bad JSON', () => {
    expect(() => parseSidecarJson('{"format":', 'web/model.json')).toThrow(/^web\/model\.json: not valid JSON \(/);
  });
});
