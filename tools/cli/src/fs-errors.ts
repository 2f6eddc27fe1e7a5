/**
 * A file-system error that reached the top (an output under /proc, a full disk, a read-only mount, a path that
 * vanished) is the user's environment, not a bug: one line naming the file and the reason, exit 1.
 */
const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder',
  EEXIST: 'already exists',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'name too long',
  EXDEV: 'crosses file systems',
  EIO: 'input/output error',
};

export function describeFsError(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== 'string' || !REASONS[e.code] || typeof e.path !== 'string')
    return undefined;
  const verb =
    e.syscall === 'open' || e.syscall === 'write' || e.syscall === 'rename' || e.syscall === 'mkdir' ? 'write' : 'use';
  // Name the output, not the temporary it was being written through (`.NAME.<pid>.<hex>.tmp`, see formats).
  const path = e.path.replace(/(^|\/)\.([^/]+)\.\d+(\.[0-9a-f]+)?\.tmp$/, '$1$2');
  return `cannot ${verb} ${path}: ${REASONS[e.code]} (${e.code})`;
}
