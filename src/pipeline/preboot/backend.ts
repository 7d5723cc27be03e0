/**
 * The preboot backends: who makes the preboot kernel and its initramfs.
 *   debian         Debian's stock kernel package + the host's BusyBox/kexec + NIC modules (gzip)
 *   kernel-source  a tiny kernel built from a Linux source tree with every driver built in,
 *                  the same BusyBox (static) and kexec, no modules (xz)
 *   buildroot      kernel and root filesystem from Buildroot with buildroot-overlay/
 * The first two carry the sha256 checker compiled from preboot-tools/ (sha256-tool.ts);
 * Buildroot's preboot checks with BusyBox's sha256sum (common.sh's sha256_of falls back to it).
 * Each produces a Preboot; the ISO stage only copies it.
 */
import { readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { PREBOOT_BACKENDS, type Config } from '../../config/schema.js';
import { UsageError } from '../../errors.js';
import { joinNeeds, needs, type ToolNeed } from '../../exec/tools.js';
import type { Logger } from '../../log.js';
import { buildPrebootInitramfs } from '../initramfs.js';
import { Manifest } from '../manifest.js';
import { BUILDROOT_TOOLS, buildWithBuildroot } from './buildroot.js';
import { addEntryData } from './entries.js';
import { addNetworkFiles, httpsUrls, needsTls } from './network.js';
import { prepareKernelPackage } from './kernel-package.js';
import { KERNEL_SOURCE_TOOLS, buildSourceKernel } from './kernel-source.js';
import { SHA256_TOOL_NEEDS } from './sha256-tool.js';

export { PREBOOT_BACKENDS };
export type PrebootBackend = (typeof PREBOOT_BACKENDS)[number];

/** The Debian package the default backend takes the preboot kernel from. */
export const DEFAULT_KERNEL_PACKAGE = 'linux-image-amd64';

export const DEBIAN_BACKEND_TOOLS = [...needs('apt-get', 'apt-cache', 'dpkg-deb', 'depmod', 'busybox', 'kexec', 'ldd'), ...SHA256_TOOL_NEEDS];

// The debian backend's userland (busybox-static, kexec, the sha256 checker), and no modules.
const KERNEL_SOURCE_BACKEND_TOOLS = joinNeeds(KERNEL_SOURCE_TOOLS, needs('busybox', 'kexec', 'ldd'), SHA256_TOOL_NEEDS);

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

/** What the preboot a backend makes can do; checked against the config before any work. */
export interface BackendProvides {
  /** It carries openssl and the CA bundle, so https:// certificates are checked. */
  https: boolean;
  /** NIC and disk drivers as modules loaded by modalias (else built into the kernel). */
  modules: boolean;
  compression: 'gzip' | 'xz';
}

interface BackendSpec {
  /** Every program the backend runs or copies (checkTools, before any work). */
  tools: ToolNeed[];
  provides: BackendProvides;
  prepare(s: PrebootSettings, ctx: PrebootContext): Promise<Preboot>;
}

/**
 * The backends, each saying what it needs and what its preboot provides. Every backend uses
 * the same init and libraries (PREBOOT_OVERLAY); the ones it sources are listed in its
 * lib/inetboot/libs, which /init reads, and which initramfs.ts and Buildroot's post-build.sh
 * check against the image.
 */
export const BACKENDS: Record<PrebootBackend, BackendSpec> = {
  debian: { tools: DEBIAN_BACKEND_TOOLS, provides: { https: true, modules: true, compression: 'gzip' }, prepare: debianPreboot },
  'kernel-source': { tools: KERNEL_SOURCE_BACKEND_TOOLS, provides: { https: true, modules: false, compression: 'xz' }, prepare: kernelSourcePreboot },
  // Buildroot's defconfig has no openssl, and BusyBox's own TLS accepts any certificate: an
  // https:// config is refused for it rather than booted unchecked.
  buildroot: { tools: BUILDROOT_TOOLS, provides: { https: false, modules: false, compression: 'xz' }, prepare: buildrootPreboot },
};

/**
 * Names what the chosen backend lacks for this config, before any long work starts: a setting
 * (a source tree), or something the config needs that its preboot does not provide (https).
 */
export function checkPrebootSettings(s: PrebootSettings, config?: Config): void {
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
  if (config && needsTls(config) && !BACKENDS[s.backend].provides.https) {
    const url = httpsUrls(config)[0];
    throw new UsageError(`the ${s.backend} backend's preboot has no openssl, so it cannot check the certificates of https:// servers${url ? ` (the config downloads ${url})` : ' (the config sets tls:)'}`, {
      hint: 'use the debian or kernel-source backend, or serve the files over http:// with their sha256 pinned',
    });
  }
}

export async function preparePreboot(s: PrebootSettings, ctx: PrebootContext): Promise<Preboot> {
  return BACKENDS[s.backend].prepare(s, ctx);
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
  // BusyBox is the static build, as in the debian backend. Debian's dynamically linked busybox
  // (0.14 MB smaller in the xz'd initramfs) made the preboot's stages from the NIC drivers to
  // the downloads 2 to 8 times slower under QEMU/TCG, and the target kexec'd from it on UEFI
  // 3.5 s slower to boot (README, "Preboot backends"; bench/ipxe.bench.ts measures it).
  const initramfs = await buildPrebootInitramfs({ config: ctx.config, kernel: undefined, workDir: ctx.workDir, logger: ctx.logger, signal: ctx.signal, compression: 'xz' });
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
