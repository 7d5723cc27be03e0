/**
 * `inetboot make-cache-disk`: a disk image holding an empty local artifact cache (an
 * inetboot-cache/ folder) for the preboot (lib/inetboot/cache.sh) to fill and reuse.
 *
 * The image is one file system over the whole disk, with no partition table (a "superfloppy"):
 * the preboot tries every block device, whole disks and partitions alike, so a stick written
 * with dd works, and so does any existing FAT or ext2/3/4 partition given the folder by hand.
 * Both file systems are made without a loop mount: `mkfs.vfat -C` creates the image file and
 * mtools' `mmd` makes the folder in it; `mkfs.ext4 -d` copies a staged folder into the new
 * file system. The image is written through replaceFile() (files/replace.ts): under a temporary
 * name, renamed when complete.
 */
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { run, type RunCtx } from '../exec/run.js';
import { checkTools, needs, type ToolNeed } from '../exec/tools.js';
import { checkOutputFile, resolveTarget } from '../files/output.js';
import { replaceFile } from '../files/replace.js';
import type { Logger } from '../log.js';

export const CACHE_FOLDER = 'inetboot-cache';
export const CACHE_LABEL = 'INETBOOT';
export type CacheFs = 'vfat' | 'ext4';

const MIB = 1024 * 1024;
/** mkfs.vfat needs some room for its tables; below 2 MiB nothing useful fits anyway. */
export const MIN_CACHE_BYTES = 2 * MIB;
/** FAT32 with 512-byte sectors ends at 2 TiB. */
export const MAX_CACHE_BYTES = 2 * 1024 * 1024 * MIB;

/**
 * "1G", "512M", "4096K", "1GiB" or plain bytes -> bytes (powers of 1024), for a cache of FAT
 * or ext4. `option` names the option in messages (make-cache-disk --size, build-iso
 * --cache-partition).
 */
export function parseSize(text: string, option = '--size'): number {
  const m = /^(\d+)\s*([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${option} ${text}: write a size such as 64M, 1G or 1073741824 (bytes)`);
  const unit = { '': 1, K: 1024, M: MIB, G: 1024 * MIB, T: 1024 * 1024 * MIB }[(m[2] ?? '').toUpperCase()] ?? 1;
  const bytes = Number(m[1]) * unit;
  if (bytes < MIN_CACHE_BYTES) throw new UsageError(`${option} ${text}: at least 2M`);
  if (bytes > MAX_CACHE_BYTES) throw new UsageError(`${option} ${text}: at most 2T`);
  if (bytes % 1024 !== 0) throw new UsageError(`${option} ${text}: must be a whole number of KiB`);
  return bytes;
}

export interface CacheDiskOptions {
  path: string;
  bytes: number;
  fs: CacheFs;
  force?: boolean;
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * The boot code of the FAT boot sector, replaced by "try the next boot device". mkfs.vfat
 * writes code that prints "This is not a bootable disk. Please insert a bootable floppy and
 * press any key to try again ..." and waits for a key, and its sector carries the 0x55AA
 * signature, so a BIOS that tries the cache disk before the CD or the boot stick stops there
 * (ext4 images have no signature, and are skipped). This code is `int 0x18` (the BIOS's "boot
 * failed: try the next device"), then `hlt` in a loop if the BIOS returns. It goes where the
 * sector's first instruction (a short jump, EB xx) leads, after the BIOS parameter block.
 */
export const PASS_ON_CODE = Buffer.from([0xcd, 0x18, 0xf4, 0xeb, 0xfd]);

export function passBootOn(image: string): void {
  const fd = openSync(image, 'r+');
  try {
    const sector = Buffer.alloc(512);
    readSync(fd, sector, 0, 512, 0);
    if (sector[0] !== 0xeb || sector[510] !== 0x55 || sector[511] !== 0xaa) throw new Error(`${image}: no FAT boot sector (a short jump and 0x55AA) where mkfs.vfat writes one`);
    const at = 2 + sector[1]!;
    if (at < 0x3e || at + PASS_ON_CODE.length > 510) throw new Error(`${image}: the boot sector's jump leads to ${at}, not past the parameter block`);
    writeSync(fd, PASS_ON_CODE, 0, PASS_ON_CODE.length, at);
  } finally {
    closeSync(fd);
  }
}

/** What writeFatCache() runs. */
export const FAT_CACHE_TOOLS = needs('mkfs.vfat', 'mmd');

/** What make-cache-disk runs for a file system. */
export function cacheDiskNeeds(fs: CacheFs): ToolNeed[] {
  return fs === 'vfat' ? FAT_CACHE_TOOLS : needs('mkfs.ext4');
}

/**
 * A new FAT file system of `bytes` (a whole number of KiB) as the file `path`, which must not
 * exist: labelled INETBOOT, an empty inetboot-cache/ folder, boot code that passes the boot on.
 * make-cache-disk's vfat image, and the cache partition of build-iso --cache-partition.
 */
export async function writeFatCache(path: string, bytes: number, opts: RunCtx): Promise<void> {
  // -C creates the file; the size is in KiB blocks.
  await run('mkfs.vfat', ['-C', '-n', CACHE_LABEL, path, String(bytes / 1024)], opts);
  passBootOn(path);
  await run('mmd', ['-i', path, `::/${CACHE_FOLDER}`], opts);
}

export async function makeCacheDisk(opts: CacheDiskOptions): Promise<{ path: string; bytes: number; fs: CacheFs }> {
  const { path, bytes, fs, logger, signal } = opts;
  checkOutputFile(path, 'the image', 'cache.img');
  if (existsSync(resolveTarget(path)) && !opts.force) throw new UsageError(`${path} exists: remove it, or pass --force to replace it`);
  checkTools(cacheDiskNeeds(fs));
  mkdirSync(dirname(path), { recursive: true });
  await replaceFile(
    path,
    async (tmp) => {
      if (fs === 'vfat') return writeFatCache(tmp, bytes, { logger, signal });
      const fd = openSync(tmp, 'wx');
      try {
        ftruncateSync(fd, bytes);
      } finally {
        closeSync(fd);
      }
      const stage = mkdtempSync(join(tmpdir(), 'inetboot-cache-disk-'));
      try {
        mkdirSync(join(stage, CACHE_FOLDER));
        await run('mkfs.ext4', ['-q', '-F', '-L', CACHE_LABEL, '-E', 'root_owner=0:0', '-d', stage, tmp], { logger, signal });
      } finally {
        rmSync(stage, { recursive: true, force: true });
      }
    },
    { signal },
  );
  logger.info(`wrote ${path}: ${fs}, ${bytes / MIB} MiB, with an empty ${CACHE_FOLDER}/ folder`);
  return { path, bytes, fs };
}
