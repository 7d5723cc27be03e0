/**
 * The target miniroot: the initramfs a published root boots with (miniroot/init does the work).
 * For the root's own kernel: the modules it needs from ROOTDIR (the preboot's NIC and disk
 * drivers, and fuse, loop, squashfs, overlay) with a modules.dep made by depmod; the host's
 * BusyBox; the block daemon with every library it links; the init and the preboot's console and
 * command-line libraries (one source: buildroot-overlay/board/inetboot/rootfs_overlay/lib/inetboot).
 * What each boot needs (sources, hashes, the network to take over, the CA bundle) is not in it:
 * the preboot appends that as a second archive.
 */
import { join } from 'node:path';
import { type RunCtx } from '../../exec/run.js';
import { PACKAGE_ROOT, PREBOOT_OVERLAY } from '../../paths.js';
import { addSkeleton, compressInitramfs } from '../initramfs.js';
import { Manifest } from '../manifest.js';
import type { KernelTree } from '../preboot/kernel-package.js';
import { addModules, allPrebootModules } from '../preboot/modules.js';
import { addBusybox, addProgramWithLibraries } from '../preboot/userland.js';

export const MINIROOT_INIT = join(PACKAGE_ROOT, 'miniroot', 'init');
/** What the miniroot needs on top of the preboot's drivers: the block daemon's file system and the root's mounts. */
export const MINIROOT_MODULES = ['fuse', 'loop', 'squashfs', 'overlay'];
const SHARED_LIBS = ['console', 'common', 'cache'];

export async function buildMiniroot(opts: { kernel: KernelTree; daemon: string; workDir: string } & RunCtx): Promise<{ image: Buffer; files: number; modules: number }> {
  const ctx = { logger: opts.logger, signal: opts.signal };
  const m = new Manifest();
  addSkeleton(m);
  m.addHostFile('init', MINIROOT_INIT, 0o755);
  for (const lib of SHARED_LIBS) m.addHostFile(`lib/inetboot/${lib}.sh`, join(PREBOOT_OVERLAY, 'lib', 'inetboot', `${lib}.sh`), 0o644);
  await addBusybox(m, ctx);
  await addProgramWithLibraries(m, 'sbin/inetboot-blockd', opts.daemon, ctx);
  // Started as "@inetboot-blockd" (argv[0] from PATH), the name systemd spares at shutdown.
  m.addSymlink('sbin/@inetboot-blockd', 'inetboot-blockd');
  const { count } = await addModules(m, opts.kernel, [...allPrebootModules(), ...MINIROOT_MODULES], opts.workDir, ctx);
  return { image: await compressInitramfs(m.toCpio(), 'gzip', ctx), files: m.paths().length, modules: count };
}
