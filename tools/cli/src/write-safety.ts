// The rule for every command that writes: nothing the user gave is lost. Checked before any work is done.
import { closeSync, existsSync, openSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from './errors.js';

/** `--force`: replace outputs that exist (without it an existing output is refused, naming this flag). */
export function withForceOption<T>(y: Argv<T>) {
  return y.option('force', { type: 'boolean', default: false, describe: 'Replace output files that already exist' });
}

/** A file (or folder) the command reads or writes, with the flag or argument that named it. */
export interface PathArg {
  path: string | undefined;
  /** How the user gave it: '--out', '--config', 'the input', ... */
  flag: string;
  /** An output folder (web-site --out, --plots) rather than a file. */
  folder?: boolean;
}

/** PathArgs from parsed flags by name (`--feat a --feat b` gives two); absent, empty and `-` (stdout) are left out. */
export function pathArgs(a: Record<string, unknown>, flags: string[]): PathArg[] {
  return flags.flatMap((flag) =>
    ([] as unknown[])
      .concat(a[flag])
      .filter((p): p is string => typeof p === 'string' && p !== '' && p !== '-')
      .map((path) => ({ path, flag: `--${flag}` })),
  );
}

/** The path with every existing part resolved (symlinks, `..`), so two spellings of one file compare equal. */
function canonical(path: string): string {
  const abs = resolve(path);
  if (existsSync(abs)) return realpathSync(abs);
  const parent = dirname(abs);
  return parent === abs ? abs : resolve(canonical(parent), basename(abs));
}

/** Input files must exist and be files (a folder where a file is expected is one clear line). */
export function checkInputs(inputs: PathArg[]): void {
  for (const { path, flag, folder } of inputs) {
    if (path === undefined) continue;
    if (!existsSync(path)) throw new UsageError(`${flag} ${path}: no such file`);
    const isDir = statSync(path).isDirectory();
    if (isDir && !folder) throw new UsageError(`${flag} ${path}: is a folder, expected a file`);
    if (!isDir && folder) throw new UsageError(`${flag} ${path}: is a file, expected a folder`);
  }
}

/**
 * Outputs: never one of the inputs (after resolving), never a folder where a file goes (or a file where a folder
 * goes), never silently replaced (`--force` to replace; an existing non-empty output folder likewise), and
 * writable (the nearest existing parent is a writable folder).
 */
export function checkOutputs(outputs: PathArg[], inputs: PathArg[], force: boolean): void {
  const ins = inputs.filter((i) => i.path !== undefined).map((i) => ({ ...i, real: canonical(i.path!) }));
  const seen = new Map<string, string>();
  for (const { path, flag, folder } of outputs) {
    if (path === undefined) continue;
    const real = canonical(path);
    const same = ins.find((i) => i.real === real);
    if (same)
      throw new UsageError(
        `${flag} ${path} is the same file as ${same.flag} ${same.path}: refusing to overwrite what the command reads`,
      );
    const twice = seen.get(real);
    if (twice) throw new UsageError(`${flag} ${path} and ${twice} name the same file`);
    seen.set(real, `${flag} ${path}`);
    if (existsSync(path)) {
      const isDir = statSync(path).isDirectory();
      if (isDir && !folder) throw new UsageError(`${flag} ${path}: is a folder, expected a file`);
      if (!isDir && folder) throw new UsageError(`${flag} ${path}: is a file, expected a folder`);
      if (!force && (!isDir || readdirSync(path).length > 0)) {
        throw new UsageError(`${flag} ${path} exists${isDir ? ' and is not empty' : ''}; pass --force to replace it`);
      }
    }
    let dir = dirname(resolve(path));
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    if (!statSync(dir).isDirectory()) throw new UsageError(`${flag} ${path}: ${dir} is a file, not a folder`);
    // A real probe, not access(W_OK): as root that says yes for /proc, /sys and read-only mounts.
    const probe = join(dir, `.semembed-write-probe.${process.pid}`);
    try {
      closeSync(openSync(probe, 'wx'));
      rmSync(probe, { force: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      const why = { EACCES: 'permission denied', EPERM: 'not permitted', EROFS: 'read-only file system' }[
        code as string
      ];
      throw new UsageError(`${flag} ${path}: cannot write into ${dir} (${why ?? code})`);
    }
  }
}
