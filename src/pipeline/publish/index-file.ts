/**
 * The block index (daemon/index.h, the one writer is daemon/pack.c) as TypeScript reads it: for
 * prune (which blocks a kept version names) and for publish --profile (block numbers by hash).
 * Read from a file already checked against the sha256 its manifest names; the layout is still
 * checked, as a damaged tree must be refused, not half trusted.
 */
import { OperationError } from '../../errors.js';
import { INDEX_HEADER, INDEX_RECORD } from './manifest.js';

export const INDEX_MAGIC = 'IBINDEX2';

export interface IndexBlock {
  sha256: string;
  /** 0 raw, 1 zstd */
  codec: number;
  length: number;
}

export function parseIndex(index: Buffer, where: string): IndexBlock[] {
  if (index.length < INDEX_HEADER || index.subarray(0, 8).toString('latin1') !== INDEX_MAGIC) throw new OperationError(`${where}: is not a block index (${INDEX_MAGIC})`);
  const count = index.readUInt32LE(12);
  const want = INDEX_HEADER + INDEX_RECORD * count;
  if (index.length !== want) throw new OperationError(`${where}: is ${index.length} bytes, not the ${want} its ${count} blocks take`);
  const blocks: IndexBlock[] = [];
  for (let i = 0; i < count; i++) {
    const rec = INDEX_HEADER + INDEX_RECORD * i;
    const codec = index[rec + 40]!;
    if (codec !== 0 && codec !== 1) throw new OperationError(`${where}: block ${i} has codec ${codec}, not 0 (raw) or 1 (zstd)`);
    blocks.push({ sha256: index.subarray(rec, rec + 32).toString('hex'), codec, length: index.readUInt32LE(rec + 36) });
  }
  return blocks;
}

/** The block files an index names ("HH/HASH[.zst]"). */
export function indexBlockNames(index: Buffer, where: string): string[] {
  return parseIndex(index, where).map((b) => `${b.sha256.slice(0, 2)}/${b.sha256}${b.codec === 1 ? '.zst' : ''}`);
}
