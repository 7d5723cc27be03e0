/**
 * build(): the table of contents of `inetboot build-iso`.
 *   check tools -> GRUB menu -> preboot (kernel + initramfs, from the chosen backend)
 *   -> stage ISO tree -> [cache partition (FAT image)] -> ISO [with the cache partition appended]
 * The preboot backends (debian, kernel-source, buildroot) live in preboot/backend.ts.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Config } from '../config/schema.js';
import { throwIfAborted, UsageError } from '../errors.js';
import { checkTools, type ToolNeed } from '../exec/tools.js';
import { replaceFile, writeFileReplacing } from '../files/replace.js';
import { trackTemp, untrackTemp } from '../files/temp.js';
import type { Logger } from '../log.js';
import { CACHE_FOLDER, CACHE_LABEL, FAT_CACHE_TOOLS, writeFatCache } from './cache-disk.js';
import type { CachePartition } from './cache-partition.js';
import { ISO_PATHS, ISO_TOOLS, makeIso } from './iso.js';
import { renderMenu } from './menu.js';
import { BACKENDS, checkPrebootSettings, preparePreboot, type Preboot, type PrebootBackend, type PrebootSettings } from './preboot/backend.js';

export { DEBIAN_BACKEND_TOOLS, DEFAULT_KERNEL_PACKAGE } from './preboot/backend.js';
export type { Preboot, PrebootSettings } from './preboot/backend.js';

/** Every tool build-iso runs with this backend: checked before any work, and listed by `inetboot doctor`. */
export function buildIsoNeeds(backend: PrebootBackend, cachePartition: boolean): ToolNeed[] {
  return [...ISO_TOOLS, ...BACKENDS[backend].tools, ...(cachePartition ? FAT_CACHE_TOOLS : [])];
}

/** Every tool build-preboot runs with this backend. */
export function prebootNeeds(backend: PrebootBackend): ToolNeed[] {
  return BACKENDS[backend].tools;
}

export interface BuildOptions {
  config: Config;
  output: string;
  cacheDir: string;
  /** Which backend makes the preboot; default: the debian backend. */
  preboot?: PrebootSettings;
  keepWorkdir?: boolean;
  /** Write a USB stick image: the ISO, then a FAT cache partition of this many bytes (cache-partition.ts). */
  cachePartitionBytes?: number;
  logger: Logger;
  /** Aborts the build: every child process is ended and every temporary file removed. */
  signal?: AbortSignal;
}

export interface BuildResult {
  output: string;
  isoBytes: number;
  /** With cachePartitionBytes: where the cache partition is in the output. */
  cachePartition?: CachePartition;
  preboot: { backend: PrebootBackend; description: string; kernelBytes: number; initramfsBytes: number };
  workDir?: string;
}

export async function buildIso(opts: BuildOptions): Promise<BuildResult> {
  const { config, logger } = opts;
  const settings = opts.preboot ?? { backend: 'debian' };
  if (config.entries.length === 0) throw new UsageError('the config has no entries: add one with "inetboot add-entry"');
  checkPrebootSettings(settings, config);
  checkTools(buildIsoNeeds(settings.backend, Boolean(opts.cachePartitionBytes)));

  const workDir = makeWorkDir('inetboot-build-');
  try {
    logger.step('composing the GRUB menu');
    const menu = renderMenu(config);

    logger.step(`preparing the preboot (${settings.backend} backend)`);
    const preboot = await preparePreboot(settings, { config, cacheDir: opts.cacheDir, workDir, logger, signal: opts.signal });
    logger.info(`preboot: ${preboot.description}`);
    logger.info(`preboot kernel ${mib(statSync(preboot.kernel).size)}, initramfs ${mib(preboot.initramfs.length)}`);
    throwIfAborted(opts.signal);

    let fatImage: string | undefined;
    if (opts.cachePartitionBytes) {
      logger.step(`making the cache partition: FAT, ${mib(opts.cachePartitionBytes)}, label ${CACHE_LABEL}, an empty ${CACHE_FOLDER}/ folder`);
      fatImage = join(workDir, 'cache-partition.img');
      await writeFatCache(fatImage, opts.cachePartitionBytes, { logger, signal: opts.signal });
    }

    logger.step(fatImage ? 'writing the USB stick image: the hybrid BIOS+UEFI ISO, then the cache partition' : 'writing the hybrid BIOS+UEFI ISO');
    const root = stageIsoTree(join(workDir, 'iso-root'), menu, preboot);
    mkdirSync(dirname(opts.output), { recursive: true });
    const { bytes, cachePartition } = await makeIso({ root, output: opts.output, workDir, cachePartition: fatImage, logger, logFile: join(workDir, 'build.log'), signal: opts.signal });
    if (cachePartition) {
      logger.info(`wrote ${opts.output} (${mib(bytes)}), a USB stick image: the hybrid BIOS+UEFI ISO, then a FAT cache partition of ${mib(cachePartition.bytes)} at byte ${cachePartition.offset} (${mib(cachePartition.offset)}; GPT partition ${cachePartition.number}, label ${CACHE_LABEL}, an empty ${CACHE_FOLDER}/ folder)`);
      logger.info(`write it to a USB stick with: dd if=${opts.output} of=/dev/sdX bs=4M conv=fsync`);
    } else {
      logger.info(`wrote ${opts.output} (${mib(bytes)})`);
    }

    return {
      output: opts.output,
      isoBytes: bytes,
      cachePartition,
      preboot: { backend: settings.backend, description: preboot.description, kernelBytes: statSync(preboot.kernel).size, initramfsBytes: preboot.initramfs.length },
      workDir: opts.keepWorkdir ? workDir : undefined,
    };
  } finally {
    if (opts.keepWorkdir) logger.info(`build directory kept: ${workDir}`);
    removeWorkDir(workDir, opts.keepWorkdir);
  }
}

/** The directory tree grub-mkrescue puts on the ISO: the menu, the preboot kernel and initramfs. */
function stageIsoTree(root: string, menu: string, preboot: Preboot): string {
  const put = (rel: string, write: (path: string) => void) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    write(join(root, rel));
  };
  put(ISO_PATHS.grubCfg, (p) => writeFileSync(p, menu));
  put(ISO_PATHS.kernel, (p) => copyFileSync(preboot.kernel, p));
  put(ISO_PATHS.initrd, (p) => writeFileSync(p, preboot.initramfs));
  return root;
}

/**
 * The build's own directory, with a tmp/ inside that every tool of the build gets as TMPDIR:
 * grub-mkrescue and xorriso make temporary directories of their own and leave them behind when
 * they are killed, and inside the work directory they go when it is removed.
 */
export function makeWorkDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  trackTemp(dir);
  mkdirSync(join(dir, 'tmp'));
  return dir;
}

/** Removes a work directory made by makeWorkDir() (unless it is to be kept). */
export function removeWorkDir(dir: string, keep = false): void {
  untrackTemp(dir);
  if (!keep) rmSync(dir, { recursive: true, force: true });
}

export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

export interface PrebootFilesResult {
  kernel: string;
  initramfs: string;
  description: string;
  kernelBytes: number;
  initramfsBytes: number;
}

/**
 * `inetboot build-preboot`: the preboot alone, written as DIR/vmlinuz and DIR/preboot.img
 * (each under a temporary name, renamed when complete).
 */
export async function buildPrebootFiles(opts: { config: Config; outDir: string; cacheDir: string; preboot: PrebootSettings; logger: Logger; signal?: AbortSignal }): Promise<PrebootFilesResult> {
  const { logger, signal } = opts;
  checkPrebootSettings(opts.preboot, opts.config);
  checkTools(prebootNeeds(opts.preboot.backend));
  const workDir = makeWorkDir('inetboot-preboot-');
  try {
    logger.step(`preparing the preboot (${opts.preboot.backend} backend)`);
    const preboot = await preparePreboot(opts.preboot, { config: opts.config, cacheDir: opts.cacheDir, workDir, logger, signal });
    mkdirSync(opts.outDir, { recursive: true });
    const kernel = join(opts.outDir, 'vmlinuz');
    const initramfs = join(opts.outDir, 'preboot.img');
    await replaceFile(kernel, (tmp) => copyFile(preboot.kernel, tmp), { signal });
    await writeFileReplacing(initramfs, preboot.initramfs, { signal });
    logger.info(`preboot: ${preboot.description}`);
    return { kernel, initramfs, description: preboot.description, kernelBytes: statSync(kernel).size, initramfsBytes: preboot.initramfs.length };
  } finally {
    removeWorkDir(workDir);
  }
}
