import { SidecarError } from './errors.js';
import { SIDECAR_VERSION } from './sidecar-schema.js';

/**
 * Brings a parsed sidecar of any earlier version to the current one. Returns a copy whose `input` and
 * `preprocessing` objects are fresh too (the validator fills defaults there), so the caller's object is not changed.
 *
 * - version 1 (no `version` field; every sidecar written before it existed): the same fields, `colorSpace`
 *   only 'rgb' | 'gray'. Migrated by adding `version: 2`.
 * - version 2: `version` field; `colorSpace` may be 'bgr' (see ColorSpace).
 *
 * A sidecar from a newer writer is refused by name rather than read wrongly.
 */
export function migrateSidecar(raw: unknown, source = 'model.json'): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw; // the schema says why
  const copy: Record<string, unknown> = { ...raw };
  for (const key of ['input', 'preprocessing']) {
    const v = copy[key];
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) copy[key] = { ...v };
  }
  const version = copy.version ?? 1;
  if (typeof version === 'number' && Number.isInteger(version) && version > SIDECAR_VERSION) {
    throw new SidecarError(
      `${source}: version: ${version} was written by a newer semembed; this one reads versions 1 to ${SIDECAR_VERSION}`,
    );
  }
  if (version === 1) return { ...copy, version: 2 };
  return copy;
}
