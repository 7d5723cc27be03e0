/**
 * Boot profiles (README, "Boot profiles"): the blocks a system's boots read, in the order they
 * first read them, so that the block daemon fetches them ahead of the reads, several at once,
 * instead of one read's wait at a time.
 *
 * Recorded by the daemon of a booted system (/run/inetboot/blocks/profile: one SHA-256 of a
 * block a line, daemon/store.c) and handed to `inetboot publish --profile FILE`, which names the
 * blocks by their numbers in the new index: a profile recorded on version 1 still serves version
 * 2 for every block the two share (most of them: daemon/chunk.h). Published as
 * DIR/profile/SHA256 (daemon/profile.h) and named in the manifest.
 */
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import type { IndexBlock } from './index-file.js';
import { MAX_BLOCKS } from './manifest.js';

export const PROFILE_MAGIC = 'IBPROFL1';
/** A recorded profile has a 65-byte line per block: at most 2^24 of them. */
const MAX_RECORDED_BYTES = 65 * MAX_BLOCKS;

/** The block hashes of a recorded profile, in order; '#' lines and blank lines are skipped. */
export function readRecordedProfile(path: string): string[] {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new UsageError(`--profile ${path} does not exist: name the file you copied from /run/inetboot/blocks/profile of a booted system`);
  }
  if (size > MAX_RECORDED_BYTES) throw new UsageError(`--profile ${path} is ${size} bytes, more than a profile of 2^24 blocks: it is not a recorded profile`);
  const hashes: string[] = [];
  readFileSync(path, 'latin1')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      if (!/^[0-9a-f]{64}$/.test(line)) {
        throw new UsageError(`${path}:${i + 1}: is not the SHA-256 of a block (64 lower-case hex digits): a recorded profile has one a line, as /run/inetboot/blocks/profile of a booted system lists them`);
      }
      hashes.push(line);
    });
  if (hashes.length === 0) throw new UsageError(`--profile ${path} names no block: record it after a boot (cat /run/inetboot/blocks/profile)`);
  return hashes;
}

export interface BuiltProfile {
  /** The published file (daemon/profile.h), or undefined when no block of the profile is in the image. */
  bytes?: Buffer;
  blocks: number;
  /** Blocks of the recorded profiles that the new image does not have (changed since). */
  dropped: number;
}

/** The published profile of `index` from recorded profiles, in order, each block once. */
export function buildProfile(recorded: string[][], index: IndexBlock[]): BuiltProfile {
  const number = new Map<string, number>();
  index.forEach((b, i) => {
    if (!number.has(b.sha256)) number.set(b.sha256, i);
  });
  const order: number[] = [];
  const taken = new Set<number>();
  const dropped = new Set<string>();
  for (const hashes of recorded) {
    for (const h of hashes) {
      const n = number.get(h);
      if (n === undefined) dropped.add(h);
      else if (!taken.has(n)) {
        taken.add(n);
        order.push(n);
      }
    }
  }
  if (order.length === 0) return { blocks: 0, dropped: dropped.size };
  const bytes = Buffer.alloc(16 + 4 * order.length);
  bytes.write(PROFILE_MAGIC, 0, 'latin1');
  bytes.writeUInt32LE(order.length, 8);
  order.forEach((n, i) => bytes.writeUInt32LE(n, 16 + 4 * i));
  return { bytes, blocks: order.length, dropped: dropped.size };
}
