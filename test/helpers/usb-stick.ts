/**
 * A USB stick as sold, for the cache tests: an MBR partition table with one FAT32 partition
 * (type 0x0c, from 1 MiB to the end) holding an empty inetboot-cache/ folder, attached to the
 * guest as USB mass storage on an xHCI controller. Made without loop mounts: the MBR written
 * here, the file system by mkfs.vfat --offset, files through mtools (IMAGE@@OFFSET).
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { run } from '../../src/exec/run.js';
import { usbStickArgs } from '../../src/qemu/boot.js';

const SECTOR = 512;
const START = 2048; // the partition's first sector: 1 MiB, as partitioning tools align
const MIB = 1024 * 1024;

/** The MBR: one partition entry, the boot signature, no boot code (a BIOS skips the stick). */
export function mbr(totalSectors: number): Buffer {
  const b = Buffer.alloc(SECTOR);
  b.writeUInt32LE(0x1e7b007, 440); // disk identifier
  const e = 446;
  b[e] = 0x00; // not active
  b.set([0xfe, 0xff, 0xff], e + 1); // CHS: past what CHS can say, as for every large disk
  b[e + 4] = 0x0c; // FAT32, LBA
  b.set([0xfe, 0xff, 0xff], e + 5);
  b.writeUInt32LE(START, e + 8);
  b.writeUInt32LE(totalSectors - START, e + 12);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

export async function makeUsbStick(path: string, mib = 256): Promise<string> {
  rmSync(path, { force: true });
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, mbr((mib * MIB) / SECTOR), 0, SECTOR, 0);
    writeSync(fd, Buffer.alloc(1), 0, 1, mib * MIB - 1); // sparse, mib MiB in all
  } finally {
    closeSync(fd);
  }
  await run('mkfs.vfat', ['-F', '32', '-n', 'STICK', '-i', '1e7b0007', '-h', String(START), '--offset', String(START), path]);
  await run('mmd', ['-i', stickFs(path), '::/inetboot-cache']);
  return path;
}

/** The stick's file system, as mtools names it. */
export const stickFs = (path: string) => `${path}@@${START * SECTOR}`;

/** QEMU arguments: the stick as USB storage on an xHCI controller (src/qemu/boot.ts). */
export { usbStickArgs };

/** A file of the stick's inetboot-cache/ (mtools), or undefined when it is not there. */
export async function stickFile(path: string, name: string): Promise<Buffer | undefined> {
  const r = await run('mcopy', ['-n', '-i', stickFs(path), `::/inetboot-cache/${name}`, '-'], { binary: true, okExitCodes: [0, 1] });
  return r.exitCode === 0 ? r.stdoutBuffer : undefined;
}

/** Every file under the stick's inetboot-cache/blocks/, as "HH/NAME"; `fs`: another FAT of the
 * image, as mtools names it (IMAGE@@OFFSET). */
export async function stickBlocks(path: string, fs = stickFs(path)): Promise<string[]> {
  const r = await run('mdir', ['-/', '-b', '-i', fs, '::/inetboot-cache/blocks'], { okExitCodes: [0, 1] });
  if (r.exitCode !== 0) return [];
  return r.stdout
    .split('\n')
    .filter((l) => /\/blocks\/[0-9a-f]{2}\/[^/]+$/.test(l))
    .map((l) => l.replace(/^.*\/blocks\//, ''))
    .sort();
}
