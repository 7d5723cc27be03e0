/**
 * The one way inetboot replaces a file (the config, an ISO, the preboot files, a cache-disk
 * image): readers, and a crash, see the old content or the new, never a mix, and nothing is
 * left behind when it fails or is interrupted.
 *
 *   1. The target is resolved through symlinks: the link stays, the file it names is replaced.
 *   2. produce(tmp) writes a temporary file beside the target (same directory: rename(2) is
 *      atomic only within one file system), named .NAME.HEX.tmp.
 *   3. The temporary file gets the target's mode, owner and group, and is fsynced.
 *   4. It is renamed over the target, and the directory is fsynced (the rename is durable).
 *
 * Two cases are rewritten in place instead (like editors do), because a rename would change
 * what the file is: a target with more than one hard link (the other names would keep the old
 * content), and a target whose owner or group the new file cannot be given (not root). In
 * place, the finished temporary file is copied over the target after the space for it was
 * reserved (so a full disk fails before the target is touched); a power cut during that copy
 * can leave the target mixed, and the complete new content is then still in the temporary file.
 *
 * On any error, and when the AbortSignal fires, the temporary file is removed and the target is
 * as it was; the error names the target and says it was not changed.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InetbootError, OperationError, throwIfAborted } from '../errors.js';
import { resolveTarget } from './output.js';
import { trackTemp, untrackTemp } from './temp.js';

/** The file operations used, replaceable so that tests can make one of them fail. */
export interface ReplaceFs {
  open: typeof fsp.open;
  rename: typeof fsp.rename;
  rm: typeof fsp.rm;
  stat: typeof fsp.stat;
}

const realFs: ReplaceFs = { open: fsp.open, rename: fsp.rename, rm: fsp.rm, stat: fsp.stat };

export interface ReplaceOptions {
  signal?: AbortSignal;
  fs?: Partial<ReplaceFs>;
}

/** The temporary name beside `target`: .NAME.HEX.tmp. */
function tempNameFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

const COPY_CHUNK = 1 << 20;

export async function replaceFile(path: string, produce: (tmp: string) => Promise<void>, opts: ReplaceOptions = {}): Promise<void> {
  const ops: ReplaceFs = { ...realFs, ...opts.fs };
  const target = resolveTarget(path);
  const old = await ops.stat(target).catch(() => undefined);
  const tmp = tempNameFor(target);
  let inPlace = old !== undefined && old.nlink > 1;
  trackTemp(tmp);
  try {
    throwIfAborted(opts.signal);
    await produce(tmp);
    throwIfAborted(opts.signal);
    const fh = await ops.open(tmp, 'r+');
    try {
      if (old) {
        const now = await fh.stat();
        if (now.uid !== old.uid || now.gid !== old.gid) {
          try {
            await fh.chown(old.uid, old.gid);
          } catch {
            inPlace = true; // not root: only the file itself can keep its owner
          }
        }
        // After chown, which clears set-id bits.
        await fh.chmod(old.mode & 0o7777);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    throwIfAborted(opts.signal);
    if (inPlace && old) await rewriteInPlace(ops, target, tmp, old.size);
    else await ops.rename(tmp, target);
  } catch (err) {
    untrackTemp(tmp);
    // A copy over the target that broke off half-way: the new content stays where it is.
    if (err instanceof HalfRewritten) throw new OperationError(`cannot finish rewriting ${path} in place (${err.message}): it may be half new; its whole new content is in ${tmp}`, { cause: err });
    await ops.rm(tmp, { force: true }).catch(() => undefined);
    if (err instanceof InetbootError) throw err;
    throw new OperationError(`cannot write ${path}: ${(err as Error).message}; ${old ? 'the file was not changed' : 'nothing was written'}`, { cause: err });
  }
  if (inPlace) await ops.rm(tmp, { force: true }).catch(() => undefined);
  untrackTemp(tmp);
  await syncDir(dirname(target), ops);
}

/** replaceFile() with the content in memory. */
export async function writeFileReplacing(path: string, data: string | Buffer, opts: ReplaceOptions = {}): Promise<void> {
  const ops: ReplaceFs = { ...realFs, ...opts.fs };
  await replaceFile(
    path,
    async (tmp) => {
      // 'wx': never open a file that was there before (the name is random, but be sure).
      const fh = await ops.open(tmp, 'wx', 0o666);
      try {
        await fh.writeFile(data, { signal: opts.signal });
      } finally {
        await fh.close();
      }
    },
    opts,
  );
}

/** The copy over the target failed after it had started. */
class HalfRewritten extends Error {}

/**
 * Copies the finished temporary file over the target's own bytes. The space is reserved first
 * by writing zeros past the old end: a full disk fails there, and the target is cut back to
 * its old size, whole.
 */
async function rewriteInPlace(ops: ReplaceFs, target: string, tmp: string, oldSize: number): Promise<void> {
  const src = await ops.open(tmp, 'r');
  const dst = await ops.open(target, constants.O_WRONLY);
  try {
    const newSize = (await src.stat()).size;
    if (newSize > oldSize) {
      try {
        const zeros = Buffer.alloc(Math.min(COPY_CHUNK, newSize - oldSize));
        for (let at = oldSize; at < newSize; at += zeros.length) await dst.write(zeros, 0, Math.min(zeros.length, newSize - at), at);
        await dst.sync();
      } catch (err) {
        await dst.truncate(oldSize).catch(() => undefined);
        throw err;
      }
    }
    const buf = Buffer.alloc(COPY_CHUNK);
    try {
      for (let at = 0; at < newSize; ) {
        const { bytesRead } = await src.read(buf, 0, buf.length, at);
        if (bytesRead === 0) break;
        await dst.write(buf, 0, bytesRead, at);
        at += bytesRead;
      }
      await dst.truncate(newSize);
      await dst.sync();
    } catch (err) {
      throw new HalfRewritten((err as Error).message, { cause: err });
    }
  } finally {
    await src.close();
    await dst.close();
  }
}

/**
 * A directory in a cache (an unpacked package, a built kernel), made whole or not at all:
 * produce(tmp) fills a temporary directory beside `dir`, which then takes its place. A
 * failure or an interrupt removes the temporary directory. The old directory, if any, is
 * removed just before the rename (a cache entry is rebuilt, never half-updated in place).
 */
export async function replaceDirectory(dir: string, produce: (tmp: string) => Promise<void>, opts: { signal?: AbortSignal } = {}): Promise<void> {
  await fsp.mkdir(dirname(dir), { recursive: true });
  const tmp = tempNameFor(dir);
  trackTemp(tmp);
  try {
    await fsp.mkdir(tmp);
    await produce(tmp);
    throwIfAborted(opts.signal);
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.rename(tmp, dir);
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  } finally {
    untrackTemp(tmp);
  }
}

/** Makes the rename itself durable; some file systems cannot fsync a directory, which is fine. */
async function syncDir(dir: string, ops: ReplaceFs): Promise<void> {
  const fh = await ops.open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close().catch(() => undefined);
}
