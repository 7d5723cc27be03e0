import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { makeCacheDisk, parseSize, type CacheFs } from '../pipeline/cache-disk.js';
import type { CommandContext } from './context.js';

export interface MakeCacheDiskOptions {
  size: string;
  fs: string;
  force?: boolean;
}

/** Writes the image; returns its path (printed on stdout for scripts). */
export async function makeCacheDiskCommand(path: string, opts: MakeCacheDiskOptions, ctx: CommandContext): Promise<string> {
  if (opts.fs !== 'vfat' && opts.fs !== 'ext4') throw new UsageError(`--fs ${opts.fs}: write vfat or ext4`);
  const r = await makeCacheDisk({ path: resolve(path), bytes: parseSize(opts.size), fs: opts.fs as CacheFs, force: opts.force, logger: ctx.log, signal: ctx.signal });
  return r.path;
}
