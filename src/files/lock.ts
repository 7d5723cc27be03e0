/**
 * The advisory lock around every edit of a config file (add-entry, remove-entry, set-default,
 * init): held across read, check and rename, so that parallel edits never lose one another.
 *
 * The lock is flock(2) on a lock file beside the config (.NAME.lock), taken by util-linux's
 * flock(1) on a file descriptor this process opened and passes to it as fd 3: the lock belongs
 * to that open file description, so it stays held after flock(1) exits, until this process
 * closes the descriptor or dies. A crashed holder therefore never leaves a stale lock (Node
 * itself has no flock()).
 *
 * The lock file is removed when the edit is done, which is safe because a waiter that got the
 * lock checks that the path still names the file it locked (same inode), and starts over if not.
 */
import { closeSync, constants, fstatSync, openSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OperationError } from '../errors.js';
import { run } from '../exec/run.js';
import { needs } from '../exec/tools.js';
import type { Logger } from '../log.js';
import { resolveTarget } from './output.js';

/** flock(1)'s exit code when the lock is taken (set with --conflict-exit-code). */
const BUSY = 75;
export const DEFAULT_LOCK_WAIT_S = 30;
/** What every config edit runs (flock(1)); `inetboot doctor` lists it. */
export const LOCK_TOOLS = needs('flock');

export function lockPathFor(path: string): string {
  const target = resolveTarget(path);
  return join(dirname(target), `.${basename(target)}.lock`);
}

export interface LockOptions {
  logger?: Logger;
  signal?: AbortSignal;
  /** How long to wait for another holder; default 30 s. */
  waitS?: number;
}

export async function withFileLock<T>(path: string, work: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const lockPath = lockPathFor(path);
  const waitS = opts.waitS ?? DEFAULT_LOCK_WAIT_S;
  for (;;) {
    let fd: number;
    try {
      // Read-only is enough for flock(2), and lets users who may read the directory share it.
      fd = openSync(lockPath, constants.O_RDONLY | constants.O_CREAT, 0o644);
    } catch (err) {
      throw new OperationError(`cannot lock ${path} for editing: cannot open ${lockPath}: ${(err as Error).message}`, {
        hint: 'inetboot writes a lock file beside the config while it edits it: the directory must be writable',
        cause: err,
      });
    }
    try {
      const flock = (wait: string[]) => run('flock', ['--exclusive', ...wait, '--conflict-exit-code', String(BUSY), '3'], { extraFds: [fd], okExitCodes: [0, BUSY], signal: opts.signal });
      if ((await flock(['--nonblock'])).exitCode === BUSY) {
        opts.logger?.info(`waiting for another inetboot that is editing ${path} (at most ${waitS} s)`);
        if ((await flock(['--timeout', String(waitS)])).exitCode === BUSY) {
          throw new OperationError(`another inetboot has been editing ${path} for more than ${waitS} s (it holds ${lockPath}); nothing was changed`, {
            hint: 'run the command again when that one has finished',
          });
        }
      }
      // Locked. If the holder before us removed the lock file in the meantime, we locked a
      // file that no longer has this name: start over on the new one.
      let current: number | undefined;
      try {
        current = statSync(lockPath).ino;
      } catch {
        current = undefined;
      }
      if (current !== fstatSync(fd).ino) continue;
      try {
        return await work();
      } finally {
        try {
          unlinkSync(lockPath);
        } catch {
          // already gone: nothing to tidy
        }
      }
    } finally {
      closeSync(fd);
    }
  }
}
