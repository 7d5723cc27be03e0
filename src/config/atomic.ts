/**
 * Replace a file so that readers, and a crash, see either the old content or the new,
 * never a mix: write a temporary file beside the target, fsync it, rename it over the
 * target. On any error the temporary file is removed and the target is left as it was.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OperationError } from '../errors.js';

/** The file operations used, replaceable so that tests can make one of them fail. */
export interface AtomicFs {
  open: typeof fsp.open;
  rename: typeof fsp.rename;
  rm: typeof fsp.rm;
  stat: typeof fsp.stat;
  realpath: typeof fsp.realpath;
}

const realFs: AtomicFs = { open: fsp.open, rename: fsp.rename, rm: fsp.rm, stat: fsp.stat, realpath: fsp.realpath };

export async function writeFileAtomic(path: string, text: string, fs: Partial<AtomicFs> = {}): Promise<void> {
  const ops: AtomicFs = { ...realFs, ...fs };
  // Through a symlink, replace the file it points to and keep the link.
  const target = await ops.realpath(path).catch(() => path);
  const mode = await ops
    .stat(target)
    .then((s) => s.mode & 0o7777)
    .catch(() => undefined);
  // Same directory as the target: rename(2) is atomic only within one filesystem.
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    const fh = await ops.open(tmp, 'wx', mode ?? 0o666);
    created = true;
    try {
      await fh.writeFile(text, 'utf8');
      // open()'s mode is reduced by the umask; the original mode is kept exactly.
      if (mode !== undefined) await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await ops.rename(tmp, target);
  } catch (err) {
    // Only a file this call created: 'wx' refuses to open one that was there before.
    if (created) await ops.rm(tmp, { force: true }).catch(() => undefined);
    throw new OperationError(`cannot write ${path}: ${(err as Error).message}; the file was not changed`, { cause: err });
  }
  await syncDir(dirname(target), ops);
}

/** Makes the rename itself durable; some filesystems cannot fsync a directory, which is fine. */
async function syncDir(dir: string, ops: AtomicFs): Promise<void> {
  const fh = await ops.open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close().catch(() => undefined);
}
