/**
 * Reads a USB stick image of `build-iso --cache-partition` back with tools other than the ones
 * that wrote it: util-linux's sfdisk for the GPT, mtools (IMAGE@@OFFSET) and fsck.fat for the
 * cache partition's FAT file system. No loop mounts.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { run } from '../../src/exec/run.js';

/** GPT partition types, as sfdisk prints them. */
export const GPT_TYPE = {
  basicData: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
} as const;

export interface GptPartition {
  /** The partition's number (Linux: /dev/sdX<number>). */
  number: number;
  /** In 512-byte sectors. */
  start: number;
  size: number;
  type: string;
  name?: string;
}

/** The partition table as sfdisk reads it. */
export async function partitionTable(image: string): Promise<{ label: string; partitions: GptPartition[] }> {
  const r = await run('sfdisk', ['--json', image]);
  const t = (JSON.parse(r.stdout) as { partitiontable: { label: string; partitions: (Omit<GptPartition, 'number'> & { node: string })[] } }).partitiontable;
  return {
    label: t.label,
    partitions: t.partitions.map(({ node, ...p }) => ({ ...p, number: Number(node.slice(image.length)) })),
  };
}

/** The cache partition: the one basic-data partition of `bytes` (sfdisk's view). */
export async function cachePartitionOf(image: string, bytes: number): Promise<GptPartition & { offset: number }> {
  const found = (await partitionTable(image)).partitions.filter((p) => p.type === GPT_TYPE.basicData && p.size * 512 === bytes);
  if (found.length !== 1) throw new Error(`${image}: ${found.length} basic-data partitions of ${bytes} bytes, not 1`);
  return { ...found[0]!, offset: found[0]!.start * 512 };
}

/** A FAT file system inside an image, as mtools names it. */
export const fatAt = (image: string, offset: number) => `${image}@@${offset}`;

/** A file of the cache partition's inetboot-cache/ (mtools), or undefined when it is not there. */
export async function cachedFile(image: string, offset: number, name: string): Promise<Buffer | undefined> {
  const r = await run('mcopy', ['-n', '-i', fatAt(image, offset), `::/inetboot-cache/${name}`, '-'], { binary: true, okExitCodes: [0, 1] });
  return r.exitCode === 0 ? r.stdoutBuffer : undefined;
}

/** fsck.fat -n (check only) of the partition, copied out of the image: its exit code and output. */
export async function fsckPartition(image: string, offset: number, bytes: number): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'inetboot-fsck-'));
  try {
    const part = join(dir, 'partition.img');
    await pipeline(createReadStream(image, { start: offset, end: offset + bytes - 1 }), createWriteStream(part));
    const r = await run('fsck.fat', ['-n', part], { okExitCodes: [0, 1, 2] });
    return { code: r.exitCode, output: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
