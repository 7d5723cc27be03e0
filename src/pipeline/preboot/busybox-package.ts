/**
 * Debian's dynamically linked `busybox` package, for the tiny profile: 0.77 MB against
 * busybox-static's 1.98 MB (0.41 MB against 0.88 MB xz'd). The two packages conflict, so it
 * is downloaded with `apt-get download` and unpacked in the cache, never installed; its
 * libraries (libc, libresolv) are the host's, the same libc that kexec needs anyway.
 * Its applets are those of busybox-static less crond, dpkg, ed, passwd, su, telnetd and
 * similar, none of which the preboot uses.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OperationError } from '../../errors.js';
import { run, type RunCtx } from '../../exec/run.js';
import { replaceDirectory } from '../../files/replace.js';

export const DYNAMIC_BUSYBOX_PACKAGE = 'busybox';

/** Returns the path of the unpacked bin/busybox in cacheDir/packages/busybox_<version>/. */
export async function prepareDynamicBusybox(cacheDir: string, ctx: RunCtx = {}): Promise<string> {
  const { stdout } = await run('apt-cache', ['show', '--no-all-versions', DYNAMIC_BUSYBOX_PACKAGE], { ...ctx });
  const version = /^Version: (.*)$/m.exec(stdout)?.[1]?.trim();
  if (!version) throw new OperationError(`apt-cache show ${DYNAMIC_BUSYBOX_PACKAGE} printed no Version field`, { hint: 'run "apt-get update" first' });
  const root = join(cacheDir, 'packages', `${DYNAMIC_BUSYBOX_PACKAGE}_${version.replace(/:/g, '%3a')}`);
  const program = join(root, 'bin', 'busybox');
  if (existsSync(program)) return program;
  mkdirSync(join(cacheDir, 'packages'), { recursive: true });
  const tmp = mkdtempSync(join(cacheDir, 'packages', '.download-'));
  try {
    ctx.logger?.info(`downloading Debian package ${DYNAMIC_BUSYBOX_PACKAGE} ${version}`);
    // As in kernel-package.ts: run the download as root so apt's sandbox user needs no access to tmp.
    await run('apt-get', ['download', '-o', 'APT::Sandbox::User=root', `${DYNAMIC_BUSYBOX_PACKAGE}=${version}`], { ...ctx, cwd: tmp });
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!deb) throw new OperationError(`apt-get download ${DYNAMIC_BUSYBOX_PACKAGE} wrote no .deb file`);
    await replaceDirectory(root, async (dir) => void (await run('dpkg-deb', ['-x', join(tmp, deb), dir], ctx)), { signal: ctx.signal });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!existsSync(program)) throw new OperationError(`Debian package ${DYNAMIC_BUSYBOX_PACKAGE} ${version} has no bin/busybox`);
  return program;
}
