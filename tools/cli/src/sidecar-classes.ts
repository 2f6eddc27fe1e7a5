// What the converter's sidecar says about the classes, built the same way by `convert`, `import` and the pipeline:
// class list (index, id, name, taxonomy path), class-embedding rows and the provenance facts of the ONNX metadata.
// Type-only imports of the heavy packages: command builders import this module at start-up.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SidecarClass } from '@semembed/converter';
import type { ClassEmbedding, ClassId, Hierarchy } from '@semembed/hierarchy';
import { UsageError } from './errors.js';

/** For the ONNX metadata (issue #13): the class-embedding method and the taxonomy file's sha256, when known. */
export function classEmbeddingFacts(method: string | undefined, hierarchy: string | undefined): Record<string, string> {
  const facts: Record<string, string> = {};
  if (method && method !== 'unknown') facts.class_embedding_method = method;
  if (hierarchy) facts.taxonomy_sha256 = createHash('sha256').update(readFileSync(hierarchy)).digest('hex');
  return facts;
}

/** The class embedding as one row per class (the sidecar's `classEmbedding`), in its row order. */
export function classEmbeddingRows(emb: Pick<ClassEmbedding, 'embedding' | 'rows' | 'dim'>): number[][] {
  return Array.from({ length: emb.rows }, (_, i) => Array.from(emb.embedding.subarray(i * emb.dim, (i + 1) * emb.dim)));
}

/**
 * The sidecar's classes in output order: a name where `name` knows one, and the path root -> leaf where the
 * taxonomy has the class (path steps by name, else by id).
 */
export function sidecarClassList(
  ids: readonly ClassId[],
  name: (id: ClassId) => string | undefined,
  hierarchy?: Hierarchy,
): SidecarClass[] {
  const label = (id: ClassId) => name(id) ?? String(id);
  return ids.map((id, index) => {
    const c: SidecarClass = { index, id };
    const n = name(id);
    if (n !== undefined) c.name = n;
    if (hierarchy?.has(id)) c.path = hierarchy.pathToRoot(id).slice().reverse().map(label);
    return c;
  });
}

/** convert / import: sidecar labels from a class-embedding file (row order = output order), names and paths. */
export async function sidecarClasses(a: {
  embedding?: string;
  class_names?: string;
  hierarchy?: string;
  is_a?: boolean;
  str_ids?: boolean;
}): Promise<{ classes?: SidecarClass[]; classEmbedding?: number[][]; sourceInfo?: Record<string, string> }> {
  if (!a.embedding) {
    if (a.class_names || a.hierarchy)
      throw new UsageError('--class_names and --hierarchy need --embedding (it gives the class order)');
    return {};
  }
  const { readClassEmbedding, readClassNames, readHierarchy } = await import('@semembed/hierarchy');
  const emb = readClassEmbedding(a.embedding);
  const names = a.class_names ? readClassNames(a.class_names, { strIds: a.str_ids }) : undefined;
  const h = a.hierarchy ? readHierarchy(a.hierarchy, { isA: a.is_a, strIds: a.str_ids }) : undefined;
  return {
    classes: sidecarClassList(emb.ind2label, (id) => names?.get(id), h),
    classEmbedding: classEmbeddingRows(emb),
    sourceInfo: classEmbeddingFacts(emb.method, a.hierarchy),
  };
}
