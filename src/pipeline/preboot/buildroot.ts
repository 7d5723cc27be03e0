/**
 * The Buildroot backend: the preboot (kernel and root filesystem) built by a Buildroot tree
 * with inetboot's BR2_EXTERNAL tree (buildroot-overlay/):
 *   make -C BUILDROOT BR2_EXTERNAL=<tree> O=<out> inetboot_x86_64_defconfig
 *   make -C BUILDROOT O=<out> [BR2_JLEVEL=N]
 * then images/bzImage and images/rootfs.cpio.xz. The entries of the config are not part of the
 * Buildroot image (it does not change with every config): they go in a second, small cpio
 * archive appended to Buildroot's, which the kernel unpacks over the first.
 *
 * The output directory lives in the cache (cacheDir/buildroot/output) and is kept between
 * builds: Buildroot rebuilds only what changed, and its download directory stays there too.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OperationError, UsageError } from '../../errors.js';
import { needs } from '../../exec/tools.js';
import type { Logger } from '../../log.js';
import { PACKAGE_ROOT } from '../../paths.js';
import { longBuild } from '../../exec/run.js';

export const BR2_EXTERNAL_TREE = join(PACKAGE_ROOT, 'buildroot-overlay');
export const BUILDROOT_DEFCONFIG = 'inetboot_x86_64_defconfig';

export const BUILDROOT_TOOLS = needs('make', 'gcc', 'nice');

/** Buildroot's root filesystem images, best compressed first (BR2_TARGET_ROOTFS_CPIO_*). */
const ROOTFS_IMAGES = ['rootfs.cpio.xz', 'rootfs.cpio.gz', 'rootfs.cpio'];

export interface BuildrootPreboot {
  bzImage: string;
  rootfs: string;
  logFile: string;
}

/** Buildroot prints ">>> busybox 1.36.1 Building" for each step of each package. */
export function buildrootProgress(line: string): string | undefined {
  const m = /^>>> (\S+) (\S+) (.+?)\s*$/.exec(line);
  return m ? `${m[1]} ${m[2]}: ${m[3]}` : undefined;
}

function checkBuildrootDir(dir: string): void {
  const ok = existsSync(dir) && statSync(dir).isDirectory() && existsSync(join(dir, 'Config.in')) && existsSync(join(dir, 'package', 'Makefile.in'));
  if (!ok) {
    throw new UsageError(`${dir} is not a Buildroot source tree (it has no Config.in and package/Makefile.in)`, {
      hint: 'pass the top directory of an unpacked Buildroot release (buildroot-2024.02 or later) with --buildroot-dir',
    });
  }
}

export async function buildWithBuildroot(opts: { buildrootDir: string; cacheDir: string; jobs?: number; logger?: Logger; signal?: AbortSignal }): Promise<BuildrootPreboot> {
  const brDir = resolve(opts.buildrootDir);
  checkBuildrootDir(brDir);
  const out = join(opts.cacheDir, 'buildroot', 'output');
  mkdirSync(out, { recursive: true });
  const logFile = join(opts.cacheDir, 'buildroot', 'build.log');
  const { logger } = opts;
  logger?.info(`Buildroot ${readBuildrootVersion(brDir) ?? '(unknown version)'} in ${brDir}, output ${out}; log: ${logFile}`);
  await longBuild('make', ['-C', brDir, `BR2_EXTERNAL=${BR2_EXTERNAL_TREE}`, `O=${out}`, BUILDROOT_DEFCONFIG], { logFile, logger, signal: opts.signal });
  // Buildroot refuses a top-level -j; BR2_JLEVEL is its own parallelism setting (0 = all cores).
  const jobs = opts.jobs === undefined ? [] : [`BR2_JLEVEL=${opts.jobs}`];
  await longBuild('make', ['-C', brDir, `O=${out}`, ...jobs], { logFile, logger, signal: opts.signal, nice: true, progress: buildrootProgress });
  const images = join(out, 'images');
  const bzImage = join(images, 'bzImage');
  const rootfs = ROOTFS_IMAGES.map((f) => join(images, f)).find((p) => existsSync(p));
  if (!existsSync(bzImage) || !rootfs) {
    throw new OperationError(`Buildroot finished but ${images} lacks bzImage or rootfs.cpio*`, {
      hint: `the defconfig must keep BR2_LINUX_KERNEL_BZIMAGE=y and BR2_TARGET_ROOTFS_CPIO=y; log: ${logFile}`,
    });
  }
  return { bzImage, rootfs, logFile };
}

function readBuildrootVersion(dir: string): string | undefined {
  try {
    return /^export BR2_VERSION := (\S+)/m.exec(readFileSync(join(dir, 'Makefile'), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
