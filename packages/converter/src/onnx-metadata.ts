/**
 * What a consumer needs to use the .onnx file without our sidecar, written into the model itself (issue #13):
 * the ONNX image metadata of docs/MetadataProps.md plus `semembed.*` keys, and an IMAGE type denotation on the
 * image input. Values come from the sidecar the converter builds, so the two always agree.
 */
import { setMetadata, type onnx } from '@semembed/onnx';

/** The parts of the sidecar (any version) that go into the model. */
export interface SidecarFacts {
  input: { name: string; layout: string; shape: (number | null)[]; channels: number };
  preprocessing?: { resize: [number, number]; colorSpace: string; mean: number[]; std: number[] };
  outputs: { name: string; kind: string; dim?: number | null; normalized?: boolean }[];
  classes?: { index: number; id: string | number; name?: string; path?: string[] }[];
  source?: Record<string, unknown>;
}

const PIXEL_FORMAT: Record<string, string> = { rgb: 'Rgb8', bgr: 'Bgr8', gray: 'Gray8' };

/** Image.NominalPixelRange where (pixel - mean) / std is one of the ranges the ONNX spec names; else none. */
function nominalRange(mean: number[], std: number[]): string | undefined {
  const all = (a: number[], v: number): boolean => a.every((x) => x === v);
  if (all(mean, 0) && all(std, 1)) return 'NominalRange_0_255';
  if (all(mean, 0) && all(std, 255)) return 'Normalized_0_1';
  if (all(mean, 127.5) && all(std, 127.5)) return 'Normalized_1_1';
  return undefined;
}

/** metadata_props for a converted model, in a fixed order. */
export function onnxMetadata(s: SidecarFacts): Record<string, string> {
  const m: Record<string, string> = {};
  const pre = s.preprocessing;
  if (pre) {
    m['Image.BitmapPixelFormat'] = PIXEL_FORMAT[pre.colorSpace] ?? pre.colorSpace;
    m['Image.ColorSpaceGamma'] = 'SRGB';
    const range = nominalRange(pre.mean, pre.std);
    if (range) m['Image.NominalPixelRange'] = range;
  }
  m['semembed.input.name'] = s.input.name;
  m['semembed.input.layout'] = s.input.layout;
  m['semembed.input.shape'] = JSON.stringify(s.input.shape);
  if (pre) {
    m['semembed.input.size'] = JSON.stringify(pre.resize);
    m['semembed.input.color_space'] = pre.colorSpace;
    m['semembed.input.mean'] = JSON.stringify(pre.mean);
    m['semembed.input.std'] = JSON.stringify(pre.std);
    m['semembed.input.normalization'] = 'input[c] = (pixel[c] - mean[c]) / std[c], 8-bit pixels 0-255, resized to size';
  }
  m['semembed.outputs'] = JSON.stringify(
    s.outputs.map((o) => ({
      name: o.name,
      kind: o.kind,
      dim: o.dim ?? null,
      ...(o.normalized !== undefined ? { normalized: o.normalized } : {}),
    })),
  );
  if (s.classes) {
    m['semembed.class_labels'] = JSON.stringify(s.classes.map((c) => c.name ?? String(c.id)));
    m['semembed.classes'] = JSON.stringify(s.classes);
  }
  const src = s.source ?? {};
  if (typeof src.class_embedding_method === 'string') m['semembed.class_embedding.method'] = src.class_embedding_method;
  if (typeof src.taxonomy_sha256 === 'string') m['semembed.taxonomy.sha256'] = src.taxonomy_sha256;
  if (typeof src.dataset === 'string') m['semembed.dataset'] = src.dataset;
  return m;
}

/** Dimension denotations of an image tensor (docs/DimensionDenotation.md), per layout. */
const IMAGE_DIMS: Record<string, string[]> = {
  NCHW: ['DATA_BATCH', 'DATA_CHANNEL', 'DATA_FEATURE', 'DATA_FEATURE'],
  NHWC: ['DATA_BATCH', 'DATA_FEATURE', 'DATA_FEATURE', 'DATA_CHANNEL'],
};

/** The model with the sidecar's facts as metadata_props and, for a 4-d image input, its IMAGE denotation. */
export function describeModel(model: onnx.ModelProto, s: SidecarFacts): onnx.ModelProto {
  const out = setMetadata(model, onnxMetadata(s));
  const graph = out.graph;
  const denote = IMAGE_DIMS[s.input.layout];
  if (!graph || !s.preprocessing || s.input.shape.length !== 4 || !denote) return out;
  const input = graph.input.map((v) => {
    const t = v.type?.tensorType;
    if (v.name !== s.input.name || !t?.shape) return v;
    const dim = t.shape.dim.map((d, i) => ({ ...d, denotation: denote[i] }));
    return { ...v, type: { ...v.type, tensorType: { ...t, shape: { dim } }, denotation: 'IMAGE' } };
  });
  return { ...out, graph: { ...graph, input } };
}

/** The attribute @semembed/formats' Keras writer (so our trainer) sets on the .h5 files it writes. */
export const PRODUCER_ATTR = 'semembed_producer';

/**
 * ModelProto.doc_string: where the model came from. Files our trainer wrote say Keras 2.2.4 (they keep Keras's
 * layout on purpose) and are told apart by PRODUCER_ATTR.
 */
export function producedBy(
  h5Path: string,
  h5: { kerasVersion?: string; attrs?: Record<string, string> },
  converter: string,
): string {
  const file = h5Path.split(/[\\/]/).pop() ?? h5Path;
  const ours = h5.attrs?.[PRODUCER_ATTR];
  if (ours) return `Trained by ${ours} (Keras-2 layout), converted from ${file} by ${converter}`;
  return `Converted from ${file} (written by Keras ${h5.kerasVersion ?? 'of unknown version'}) by ${converter}`;
}
