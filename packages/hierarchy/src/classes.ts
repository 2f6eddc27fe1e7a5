import { HierarchyError } from './errors.js';
import type { Hierarchy } from './hierarchy.js';
import { readText } from './hierarchy.js';
import { type ClassId, type IdOptions, requireId } from './ids.js';

/**
 * Reads a class list as the reference's `--class_list`: the first whitespace-separated token of every non-blank
 * line, converted like the taxonomy's ids, de-duplicated keeping the first occurrence, in file order. With a
 * hierarchy given, every class must be one of its nodes.
 */
export function readClassList(path: string, options: IdOptions & { hierarchy?: Hierarchy } = {}): ClassId[] {
  const lines = readText(path, 'class list').split(/\r?\n/);
  const seen = new Set<ClassId>();
  const out: ClassId[] = [];
  for (let k = 0; k < lines.length; k++) {
    const token = lines[k].trim().split(/\s+/)[0];
    if (!token) continue;
    const id = requireId(token, options.strIds, `${path}:${k + 1}`);
    if (options.hierarchy && !options.hierarchy.has(id)) {
      throw new HierarchyError(`${path}:${k + 1}: class '${id}' is not in the taxonomy ${options.hierarchy.source}`);
    }
    if (!seen.has(id)) {
      seen.add(id);
      out.push(id);
    }
  }
  if (out.length === 0) throw new HierarchyError(`${path}: the class list is empty`);
  return out;
}

/** Reads `id name` lines (e.g. Cifar-Hierarchy/class_names.txt) into a map; the name is the rest of the line. */
export function readClassNames(path: string, options: IdOptions = {}): Map<ClassId, string> {
  const names = new Map<ClassId, string>();
  const lines = readText(path, 'class names').split(/\r?\n/);
  for (let k = 0; k < lines.length; k++) {
    const m = /^(\S+)\s+(.+)$/.exec(lines[k].trim());
    if (!m) {
      if (lines[k].trim() !== '')
        throw new HierarchyError(`${path}:${k + 1}: expected 'id name', got '${lines[k].trim()}'`);
      continue;
    }
    names.set(requireId(m[1], options.strIds, `${path}:${k + 1}`), m[2]);
  }
  return names;
}
