/**
 * The preboot backends: who makes the preboot kernel and its initramfs.
 *   debian         Debian's stock kernel package + the host's BusyBox/kexec + NIC modules (gzip)
 *   kernel-source  a tiny kernel built from a Linux source tree with every driver built in,
 *                  Debian's dynamic BusyBox and the host's kexec, no modules (xz)
 *   buildroot      kernel and root filesystem from Buildroot with buildroot-overlay/
 * Each produces a Preboot; the ISO stage only copies it.
 */
import { readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { PREBOOT_BACKENDS, type Config } from '../../config/schema.js';
import { UsageError } from '../../errors.js';
import type { ToolNeed } from '../../exec/tools.js';
import type { Logger } from '../../log.js';
import { buildPrebootInitramfs } from '../initramfs.js';
import { Manifest } from '../manifest.js';
import { prepareDynamicBusybox } from './busybox-package.js';
import { BUILDROOT_TOOLS, buildWithBuildroot } from './buildroot.js';
import { addEntryData } from './entries.js';
import { addNetworkFiles } from './network.js';
import { prepareKernelPackage } from './kernel-package.js';
import { KERNEL_SOURCE_TOOLS, buildSourceKernel } from './kernel-source.js';

export { PREBOOT_BACKENDS };
export type PrebootBackend = (typeof PREBOOT_BACKENDS)[number];

/** The Debian package the default backend takes the preboot kernel from. */
export const DEFAULT_KERNEL_PACKAGE = 'linux-image-amd64';

export const DEBIAN_BACKEND_TOOLS: ToolNeed[] = [
  { name: 'apt-get', reason: 'downloads the preboot kernel package' },
  { name: 'apt-cache', reason: 'finds the preboot kernel package' },
  { name: 'dpkg-deb', reason: 'unpacks the preboot kernel package' },
  { name: 'depmod', reason: "computes the preboot's modules.dep" },
  { name: 'busybox', reason: "the preboot's shell, wget, udhcpc and friends" },
  { name: 'kexec', reason: 'starts the downloaded kernel from the preboot' },
  { name: 'ldd', reason: "finds kexec's libraries" },
];

const KERNEL_SOURCE_BACKEND_TOOLS: ToolNeed[] = [
  ...KERNEL_SOURCE_TOOLS,
  { name: 'apt-get', reason: "downloads Debian's dynamically linked busybox package" },
  { name: 'apt-cache', reason: 'finds the busybox package' },
  { name: 'dpkg-deb', reason: 'unpacks the busybox package' },
  { name: 'kexec', reason: 'starts the downloaded kernel from the preboot' },
  { name: 'ldd', reason: "finds kexec's and busybox's libraries" },
];

export const BACKEND_TOOLS: Record<PrebootBackend, ToolNeed[]> = {
  debian: DEBIAN_BACKEND_TOOLS,
  'kernel-source': KERNEL_SOURCE_BACKEND_TOOLS,
  buildroot: BUILDROOT_TOOLS,
};

/** The preboot, whichever backend made it. */
export interface Preboot {
  /** The kernel (bzImage) on the host. */
  kernel: string;
  initramfs: Buffer;
  /** One line for people: what the kernel and initramfs are. */
  description: string;
}

/** The `preboot:` settings after precedence (defaults < config file < command line). */
export interface PrebootSettings {
  backend: PrebootBackend;
  /** kernel-source: a Linux source directory or tarball. */
  kernelSource?: string;
  /** buildroot: the Buildroot source tree. */
  buildrootDir?: string;
  /** Parallel build jobs for kernel-source and buildroot. */
  jobs?: number;
  /** debian: the kernel package (default linux-image-amd64). */
  kernelPackage?: string;
}

export interface PrebootContext {
  config: Config;
  cacheDir: string;
  workDir: string;
  logger: Logger;
  signal?: AbortSignal;
}

/** Names the setting a backend lacks, before any long work starts. */
export function checkPrebootSettings(s: PrebootSettings): void {
  if (s.backend === 'kernel-source' && !s.kernelSource) {
    throw new UsageError('the kernel-source backend needs a Linux source tree', {
      hint: 'pass --kernel-source /usr/src/linux-source-6.1.tar.xz (apt-get install linux-source-6.1), or set preboot.kernel_source in the config',
    });
  }
  if (s.backend === 'buildroot' && !s.buildrootDir) {
    throw new UsageError('the buildroot backend needs a Buildroot source tree', {
      hint: 'pass --buildroot-dir DIR, or set preboot.buildroot_dir in the config',
    });
  }
}

export async function preparePreboot(s: PrebootSettings, ctx: PrebootContext): Promise<Preboot> {
  switch (s.backend) {
    case 'debian':
      return debianPreboot(s, ctx);
    case 'kernel-source':
      return kernelSourcePreboot(s, ctx);
    case 'buildroot':
      return buildrootPreboot(s, ctx);
  }
}

async function debianPreboot(s: PrebootSettings, ctx: PrebootContext): Promise<Preboot> {
  const kernel = await prepareKernelPackage(s.kernelPackage ?? DEFAULT_KERNEL_PACKAGE, ctx.cacheDir, ctx);
  const initramfs = await buildPrebootInitramfs({ config: ctx.config, kernel, workDir: ctx.workDir, logger: ctx.logger, signal: ctx.signal });
  return {
    kernel: kernel.vmlinuz,
    initramfs: initramfs.image,
    description: `Debian ${kernel.pkg} ${kernel.version}; initramfs ${initramfs.files} files, ${initramfs.modules} modules, gzip`,
  };
}

async function kernelSourcePreboot(s: PrebootSettings, ctx: PrebootContext): Promise<Preboot> {
  const kernel = await buildSourceKernel({ source: s.kernelSource!, cacheDir: ctx.cacheDir, jobs: s.jobs, logger: ctx.logger, signal: ctx.signal });
  const busybox = await prepareDynamicBusybox(ctx.cacheDir, ctx);
  const initramfs = await buildPrebootInitramfs({ config: ctx.config, kernel: undefined, workDir: ctx.workDir, logger: ctx.logger, signal: ctx.signal, compression: 'xz', busybox });
  return {
    kernel: kernel.bzImage,
    initramfs: initramfs.image,
    description: `Linux ${kernel.release} built from ${s.kernelSource} (tinyconfig + linux.config${kernel.cached ? ', cached' : ''}); initramfs ${initramfs.files} files, no modules, xz`,
  };
}

async function buildrootPreboot(s: PrebootSettings, ctx: PrebootContext): Promise<Preboot> {
  const br = await buildWithBuildroot({ buildrootDir: s.buildrootDir!, cacheDir: ctx.cacheDir, jobs: s.jobs, logger: ctx.logger, signal: ctx.signal });
  // The kernel unpacks concatenated archives in order, each with its own compression: the
  // entries land on top of Buildroot's root filesystem.
  const entries = new Manifest();
  addEntryData(entries, ctx.config);
  // Network/proxy/TLS settings; openssl itself must come from Buildroot's root filesystem.
  addNetworkFiles(entries, ctx.config);
  const initramfs = Buffer.concat([readFileSync(br.rootfs), gzipSync(entries.toCpio(), { level: 9 })]);
  return {
    kernel: br.bzImage,
    initramfs,
    description: `Buildroot bzImage (${statSync(br.bzImage).size} bytes) and ${br.rootfs} + entry data`,
  };
}
