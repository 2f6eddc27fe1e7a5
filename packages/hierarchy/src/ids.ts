import { HierarchyError } from './errors.js';

/** A class or node id: an integer (default, as the reference's `int`) or a verbatim string (`--str_ids`). */
export type ClassId = number | string;

export interface IdOptions {
  /** Keep ids as strings (the reference's `--str_ids`); otherwise they are parsed as integers. */
  strIds?: boolean;
}

// Python's int() accepts surrounding whitespace, a sign, leading zeros and digit-group underscores.
const PY_INT = /^[+-]?\d+(?:_\d+)*$/;

/** Converts a token the way the reference's `id_type` does; returns undefined when int() would fail. */
export function parseId(token: string, strIds: boolean | undefined): ClassId | undefined {
  if (strIds) return token;
  const t = token.trim();
  if (!PY_INT.test(t)) return undefined;
  const v = Number(t.replaceAll('_', ''));
  if (!Number.isSafeInteger(v)) return undefined;
  return v;
}

export function requireId(token: string, strIds: boolean | undefined, where: string): ClassId {
  const id = parseId(token, strIds);
  if (id === undefined) {
    throw new HierarchyError(`${where}: '${token}' is not an integer class id (use --str_ids for string ids)`);
  }
  return id;
}
