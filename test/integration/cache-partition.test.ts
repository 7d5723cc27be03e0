/**
 * build-iso --cache-partition with the real tools (grub-mkrescue, xorriso, mkfs.vfat, mtools),
 * read back with others: util-linux's sfdisk for the GPT, xorriso's reports for the MBR, the
 * ISO's files and El Torito, mtools and fsck.fat for the FAT file systems. The stick image is
 * built as a user runs it (bin/inetboot.js, no -o: inetboot-stick.img), and an ISO from the
 * same config without the option to compare with. Its boots: test/boot/cache-stick.test.ts.
 */
import { closeSync, openSync, readdirSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/run.js';
import { PASS_ON_CODE } from '../../src/pipeline/cache-disk.js';
import { cachePartitionOf, fatAt, fsckPartition, GPT_TYPE, partitionTable, type GptPartition } from '../helpers/cache-stick.js';
import { bin, cli, type CliResult } from '../helpers/cli.js';
import { isoBootReport, isoExtract, isoFileList } from '../helpers/iso.js';
import { outputDir } from '../helpers/paths.js';
import { scaled } from '../helpers/timeouts.js';

const MIB = 1024 * 1024;
const SIZE = 64 * MIB;
const CONFIG = `timeout: 1
serial: true
entries:
  - id: pinned
    title: Pinned
    kernel: {url: "http://10.0.2.2:8080/vmlinuz", sha256: "${'ab'.repeat(32)}"}
`;

const dir = outputDir('integration-cache-partition');
const cfg = join(dir, 'inetboot.yaml');
const stick = join(dir, 'inetboot-stick.img');
const iso = join(dir, 'plain.iso');
let built: CliResult;
let part: GptPartition & { offset: number };
let partitions: GptPartition[];

/** The first sector of a partition. */
function sectorAt(image: string, offset: number): Buffer {
  const fd = openSync(image, 'r');
  try {
    const b = Buffer.alloc(512);
    readSync(fd, b, 0, 512, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** mdir -b: one path per line; `recursive` (-/) lists the folders below too (and fails on an empty one). */
const mdir = async (image: string, offset: number, path: string, recursive = true) => run('mdir', [...(recursive ? ['-/'] : []), '-b', '-i', fatAt(image, offset), path], { okExitCodes: [0, 1] });

beforeAll(async () => {
  writeFileSync(cfg, CONFIG);
  writeFileSync(stick, 'an earlier image\n');
  built = await bin(['build-iso', '-c', cfg, '--cache-partition', '64M'], { cwd: dir });
  expect(built.code, built.stderr).toBe(0);
  const plain = await cli('build-iso', '-c', cfg, '-o', iso);
  expect(plain.code, plain.stderr).toBe(0);
  part = await cachePartitionOf(stick, SIZE);
  partitions = (await partitionTable(stick)).partitions;
}, scaled(600_000));

describe('build-iso --cache-partition 64M', () => {
  it('writes inetboot-stick.img in place of the old file, atomically, and says where the cache partition is', () => {
    expect(built.stdout.trim()).toBe(stick);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(built.stderr).toContain('==> making the cache partition: FAT, 64.0 MiB, label INETBOOT, an empty inetboot-cache/ folder');
    expect(built.stderr).toContain(
      `wrote ${stick} (${(statSync(stick).size / MIB).toFixed(1)} MiB), a USB stick image: the hybrid BIOS+UEFI ISO, then a FAT cache partition of 64.0 MiB at byte ${part.offset} (${(part.offset / MIB).toFixed(1)} MiB; GPT partition ${part.number}, label INETBOOT, an empty inetboot-cache/ folder)`,
    );
    expect(built.stderr).toContain(`write it to a USB stick with: dd if=${stick} of=/dev/sdX bs=4M conv=fsync`);
  });

  it('GPT: the cache partition (basic data, 64 MiB, on a 1 MiB boundary) comes after the ISO and its ESP, overlapping nothing', async () => {
    expect((await partitionTable(stick)).label).toBe('gpt');
    expect(part.size * 512).toBe(SIZE);
    expect(part.start % 2048).toBe(0);
    const esp = partitions.filter((p) => p.type === GPT_TYPE.esp);
    expect(esp).toHaveLength(1);
    expect(esp[0]!.start + esp[0]!.size).toBeLessThanOrEqual(part.start);
    const sorted = [...partitions].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1]!.start + sorted[i - 1]!.size, `${sorted[i - 1]!.number} / ${sorted[i]!.number}`).toBeLessThanOrEqual(sorted[i]!.start);
    // Every file of the ISO ends before it (xorriso: "File data lba: xt, start, blocks, size, path", 2048-byte blocks).
    const lba = await execa('xorriso', ['-indev', stick, '-find', '/', '-exec', 'report_lba', '--'], { all: true });
    const ends = [...lba.all!.matchAll(/^File data lba:\s*\d+\s*,\s*(\d+)\s*,\s*(\d+)\s*,/gm)].map((m) => (Number(m[1]) + Number(m[2])) * 4);
    expect(ends.length).toBeGreaterThan(10);
    expect(Math.max(...ends)).toBeLessThanOrEqual(part.start);
    expect(statSync(stick).size).toBeGreaterThanOrEqual(part.offset + SIZE);
  });

  it("MBR: still only the protective 0xee entry, now over the whole image, and the plain ISO's GRUB boot code", async () => {
    const r = await execa('xorriso', ['-indev', stick, '-report_system_area', 'plain'], { all: true });
    const mbr = r.all!.split('\n').filter((l) => /^MBR partition\s+:/.test(l)).map((l) => l.split(/\s+/).join(' '));
    expect(mbr).toEqual([`MBR partition : 1 0x00 0xee 1 ${statSync(stick).size / 512 - 1}`]);
    expect(r.all).toMatch(/^System area summary: MBR protective-msdos-label grub2-mbr .*GPT/m);
    expect(sectorAt(stick, 0).subarray(0, 440).equals(sectorAt(iso, 0).subarray(0, 440))).toBe(true);
  });

  it('the cache partition is FAT labelled INETBOOT with an empty inetboot-cache/ folder, clean for fsck.fat, with the pass-on boot code', async () => {
    const label = await run('mlabel', ['-s', '-i', fatAt(stick, part.offset), '::']);
    expect(label.stdout.trim()).toBe('Volume label is INETBOOT');
    expect((await mdir(stick, part.offset, '::/')).stdout.trim()).toBe('::/inetboot-cache/');
    const folder = await mdir(stick, part.offset, '::/inetboot-cache', false);
    expect(folder.exitCode).toBe(0);
    expect(folder.stdout.trim()).toBe('');
    const fsck = await fsckPartition(stick, part.offset, SIZE);
    expect(fsck.code, fsck.output).toBe(0);
    const boot = sectorAt(stick, part.offset);
    expect(boot.subarray(2 + boot[1]!, 2 + boot[1]! + PASS_ON_CODE.length).equals(PASS_ON_CODE)).toBe(true);
  }, scaled(60_000));

  it('the ISO in it reads as the plain ISO of the same config: the same files, grub.cfg and preboot; El Torito boot images for BIOS and UEFI', async () => {
    expect(await isoFileList(stick)).toEqual(await isoFileList(iso));
    for (const f of ['/boot/grub/grub.cfg', '/boot/inetboot/preboot.img', '/boot/inetboot/vmlinuz']) {
      expect((await isoExtract(stick, f)).equals(await isoExtract(iso, f)), f).toBe(true);
    }
    const report = await isoBootReport(stick);
    expect(report).toMatch(/El Torito boot img\s*:\s*1\s+BIOS/);
    expect(report).toMatch(/El Torito boot img\s*:\s*2\s+UEFI/);
  }, scaled(60_000));

  it("the ESP (what UEFI boots) is FAT with GRUB's EFI loader and no inetboot-cache/ folder, so the preboot cannot take it for the cache", async () => {
    const esp = partitions.find((p) => p.type === GPT_TYPE.esp)!;
    const files = await mdir(stick, esp.start * 512, '::/');
    expect(files.stdout.split('\n')).toContain('::/efi/boot/bootx64.efi');
    expect((await mdir(stick, esp.start * 512, '::/inetboot-cache', false)).exitCode).toBe(1);
    // Nor is any other partition FAT with the folder: mtools finds no file system on them.
    for (const p of partitions.filter((q) => q.number !== part.number && q.number !== esp.number)) {
      expect((await mdir(stick, p.start * 512, '::/inetboot-cache', false)).exitCode, `partition ${p.number}`).toBe(1);
    }
  });
});
