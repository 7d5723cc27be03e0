/**
 * `build-iso --cache-partition SIZE`: one USB stick image that boots (BIOS and UEFI, as the ISO
 * does) and carries the local artifact cache in a FAT partition after the boot image, where
 * the preboot (lib/inetboot/cache.sh) finds it like any cache disk. The FAT file system is
 * made as make-cache-disk makes one (cache-disk.ts, writeFatCache) and handed to xorriso, which
 * appends it to the ISO and enters it in the partition table (iso.ts, makeIso).
 *
 * What grub-mkrescue 2.06 (Debian 12) writes, measured with `xorriso -indev X
 * -report_system_area plain` and `sfdisk -d X` on a 15.4 MiB ISO:
 *   MBR  one entry, 0xee from sector 1 to the end (a protective MBR: "--protective-msdos-label"),
 *        and GRUB's boot_hybrid.img as boot code, which loads GRUB from fixed sectors of the ISO
 *        whatever the partition table says (booted as a USB hard disk on BIOS);
 *   GPT  1 "Gap0" (ISO data, basic data), 2 "EFI boot partition" (the ESP: FAT with
 *        /efi/boot/bootx64.efi, what UEFI boots), 3 "HFSPLUS" (the ISO's files as HFS+ for
 *        Macs), 4 "Gap1" (ISO data);
 *   APM  for Macs.
 * xorriso's `-append_partition N TYPE FILE` (N 1..4; 2 is the natural choice, 1 would hide the
 * ISO before it) puts FILE after the ISO, and lists it in GPT too when GPT is made:
 *   - by default (appended_part_as=mbr) the MBR gets a second entry, 0x0c, active (0x80), next
 *     to 0xee: a "hybrid MBR". The UEFI specification does not know it: a firmware that reads
 *     that MBR as a legacy MBR (any entry besides 0xee) looks there for the ESP, which is only in
 *     GPT, and cannot boot. OVMF takes any 0xee entry at sector 1 as protective and boots both.
 *   - `-boot_image any appended_part_as=gpt` keeps the MBR exactly as the ISO alone has it (only
 *     0xee, now covering the partition too) and lists the partition in GPT only, type basic data
 *     (EBD0A0A2-..., what 0x0c maps to), named "Appended2". Chosen: the boot path of the stick
 *     is then the same as the ISO's, on BIOS and UEFI. Linux (the preboot: the debian kernel and
 *     the tiny profile both have CONFIG_EFI_PARTITION) reads GPT first; it sees /dev/sda1 to
 *     /dev/sda6 (the ESP has no inetboot-cache/ folder, the other partitions are not FAT or ext4).
 *   - the partition starts where the ISO ends, in 2048-byte units (sector 30904 above): not on a
 *     1 MiB boundary as partitioning tools place them for flash erase blocks.
 *     `-boot_image any partition_cyl_align=all` pads the ISO to a whole number of cylinders of
 *     1 MiB (64 heads x 32 sectors) and the partition to a whole cylinder too: it then starts
 *     at sector 32768, a "Gap1" partition covers the padding (GPT 4) and the cache is GPT 5.
 *     Costs less than 1 MiB; chosen. (The number follows from the layout; nothing depends on
 *     it: the preboot tries every partition, findCachePartition() below finds it by content.)
 * Result for 64M: GPT 5, sectors 32768..163839 (64 MiB), then xorriso's 300 KiB of padding
 * ("Gap2"), then the backup GPT. xorriso copies the whole FAT image into the output (no holes):
 * the image file is as large as the stick's used part (a 4 GiB cache: 4.1 GB written in 21 s,
 * a 9 GiB one in 66 s on this machine). Partitions above 2 TiB are refused (FAT32's end).
 * Written to a larger stick, the backup GPT is not at the end of the device: Linux says
 * "Alternate GPT header not at the end of the disk" and uses the primary one (as for any ISO
 * written with dd).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { parseSize } from './cache-disk.js';

const SECTOR = 512;
const MIB = 1024 * 1024;

/** --cache-partition SIZE -> bytes: the sizes of make-cache-disk --size, in whole MiB. */
export function parseCachePartitionSize(text: string): number {
  const bytes = parseSize(text, '--cache-partition');
  // xorriso rounds an appended partition up to whole cylinders (1 MiB, partition_cyl_align=all):
  // the FAT would not fill its partition.
  if (bytes % MIB !== 0) throw new UsageError(`--cache-partition ${text}: must be a whole number of MiB (the partition is aligned to 1 MiB)`);
  return bytes;
}

/** xorriso commands (after grub-mkrescue's `--`) that append the FAT image as the cache partition. */
export function cachePartitionXorrisoArgs(fatImage: string): string[] {
  return ['-append_partition', '2', '0x0c', fatImage, '-boot_image', 'any', 'appended_part_as=gpt', '-boot_image', 'any', 'partition_cyl_align=all'];
}

export interface CachePartition {
  /** The GPT entry's number: Linux's /dev/sdX<number>. */
  number: number;
  /** Where the partition starts in the image, in bytes. */
  offset: number;
  bytes: number;
}

/** Reads `length` bytes at `position` of an open file; fewer at its end. */
function readAt(fd: number, position: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  const n = readSync(fd, b, 0, length, position);
  return b.subarray(0, n);
}

/**
 * Finds the cache partition in the GPT of a written stick image: the entry of the FAT image's
 * size whose first 4 KiB (boot sector, FAT start) are the FAT image's. Throws when there is
 * none: the image does not say what build-iso claims it says.
 */
export function findCachePartition(stick: string, fatImage: string): CachePartition {
  const bytes = statSync(fatImage).size;
  const fd = openSync(stick, 'r');
  const fat = openSync(fatImage, 'r');
  try {
    const head = readAt(fat, 0, 4096);
    const gpt = readAt(fd, SECTOR, SECTOR);
    if (gpt.toString('latin1', 0, 8) !== 'EFI PART') throw new Error(`${stick}: no GPT header at sector 1`);
    const entriesLba = Number(gpt.readBigUInt64LE(72));
    const count = gpt.readUInt32LE(80);
    const size = gpt.readUInt32LE(84);
    if (count > 1024 || size < 128 || size > 1024) throw new Error(`${stick}: a GPT of ${count} entries of ${size} bytes`);
    const entries = readAt(fd, entriesLba * SECTOR, count * size);
    for (let i = 0; i * size + 128 <= entries.length; i++) {
      const e = entries.subarray(i * size, (i + 1) * size);
      const first = Number(e.readBigUInt64LE(32));
      const last = Number(e.readBigUInt64LE(40));
      if (first === 0 || (last - first + 1) * SECTOR !== bytes) continue;
      if (readAt(fd, first * SECTOR, head.length).equals(head)) return { number: i + 1, offset: first * SECTOR, bytes };
    }
    throw new Error(`${stick}: no GPT partition holds the cache's FAT image (${bytes} bytes)`);
  } finally {
    closeSync(fd);
    closeSync(fat);
  }
}
