/**
 * Where inetboot may write a file. Every command that writes one (the config, an ISO, the
 * preboot files, a cache-disk image, a console log) checks its path here before any work:
 * a path that exists must be a regular file (or a symlink to one, which is written through);
 * a device, a directory, a FIFO or a socket is refused with what to do instead. Writing an
 * image over /dev/sdb as a regular file would delete the device node and fill /dev.
 */
import { lstatSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** Symlinks followed, also a dangling one (its target is what a write would create). */
export function resolveTarget(path: string): string {
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      return p;
    }
    if (!st.isSymbolicLink()) return p;
    const link = readlinkSync(p);
    p = isAbsolute(link) ? link : resolve(dirname(p), link);
  }
  throw new UsageError(`${path}: too many levels of symbolic links`);
}

function kindOf(st: Stats): string {
  if (st.isFile()) return 'a file';
  if (st.isDirectory()) return 'a directory';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Refuses an output path that exists and is not a regular file, or whose directory cannot
 * exist (a file where a directory would have to be). `what` names the option in messages,
 * e.g. "-o" or "the config file"; `example` is a file name to suggest inside a directory.
 */
export function checkOutputFile(path: string, what: string, example = 'inetboot.iso'): void {
  const target = resolveTarget(path);
  let st: Stats | undefined;
  try {
    st = statSync(target);
  } catch {
    st = undefined;
  }
  if (st && !st.isFile()) {
    const shown = target === resolve(path) ? path : `${path} (-> ${target})`;
    if (st.isDirectory()) throw new UsageError(`${what} ${shown} is a directory: name the file to write, e.g. ${join(path, example)}`);
    if (st.isBlockDevice() || st.isCharacterDevice()) {
      throw new UsageError(`${what} ${shown} is ${kindOf(st)}: inetboot writes files, never devices (that would replace the device node); write a file, then copy it with: dd if=FILE of=${path} bs=4M conv=fsync`);
    }
    throw new UsageError(`${what} ${shown} is ${kindOf(st)}: name a regular file to write`);
  }
  // The nearest existing ancestor must be a directory, or the directories cannot be made.
  for (let dir = dirname(target); ; dir = dirname(dir)) {
    let d: Stats | undefined;
    try {
      d = statSync(dir);
    } catch {
      if (dirname(dir) === dir) return;
      continue;
    }
    if (!d.isDirectory()) throw new UsageError(`${what} ${path}: ${dir} is ${kindOf(d)}, so no file can be written below it`);
    return;
  }
}

/** For an output directory (build-preboot -o DIR): it is a directory, or it does not exist yet. */
export function checkOutputDir(path: string, what: string): void {
  let st: Stats | undefined;
  try {
    st = statSync(path);
  } catch {
    st = undefined;
  }
  if (st && !st.isDirectory()) throw new UsageError(`${what} ${path} is ${kindOf(st)}: name a directory (it is created when missing)`);
  checkOutputFile(join(path, '.probe'), what);
}
