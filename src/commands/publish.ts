/** `inetboot publish ROOTDIR --out DIR`: a root file system as a tree to boot lazily over HTTP;
 * `inetboot publish --prune DIR [--keep N]`: what no kept version of the tree names, removed. */
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { defaultCacheDir } from '../paths.js';
import { DEFAULT_BLOCK_SIZE, parseBlockSize, publish, withTreeLock, type PublishResult } from '../pipeline/publish/publish.js';
import { readRecordedProfile } from '../pipeline/publish/profile.js';
import { DEFAULT_KEEP, prune, type PruneResult } from '../pipeline/publish/versions.js';
import type { CommandContext } from './context.js';

export interface PublishOptions {
  out?: string;
  blockSize?: string;
  json?: boolean;
  cacheDir?: string;
  prune?: string;
  keep?: string;
  profile?: string[];
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export async function publishCommand(root: string | undefined, opts: PublishOptions, ctx: CommandContext): Promise<string> {
  if (opts.prune !== undefined) {
    if (root !== undefined || opts.out !== undefined || opts.profile !== undefined) {
      throw new UsageError('--prune DIR takes no ROOTDIR, --out or --profile: it only removes what old versions of DIR used');
    }
    const keepText = opts.keep ?? String(DEFAULT_KEEP);
    const keep = Number(keepText);
    if (!/^\d+$/.test(keepText) || keep < 1 || keep > 1000) throw new UsageError(`--keep ${opts.keep}: write how many versions to keep, from 1 to 1000`);
    const out = resolve(opts.prune);
    const r = await withTreeLock(out, () => prune(out, keep, ctx.signal), { logger: ctx.log, signal: ctx.signal, option: '--prune' });
    return opts.json ? `${JSON.stringify(r)}\n` : pruneSummary(r, opts.prune);
  }
  if (root === undefined) throw new UsageError('publish needs ROOTDIR and --out DIR (or --prune DIR): inetboot publish ROOTDIR --out DIR');
  if (opts.out === undefined) throw new UsageError("required option '--out <dir>' not specified: the tree to write, e.g. --out www/debian12");
  if (opts.keep !== undefined) throw new UsageError('--keep goes with --prune DIR');
  // Read (and refused) before the long work starts.
  const profiles = opts.profile?.map((f) => readRecordedProfile(resolve(f)));
  const r = await publish({
    root: resolve(root),
    out: resolve(opts.out),
    blockSize: opts.blockSize === undefined ? DEFAULT_BLOCK_SIZE : parseBlockSize(opts.blockSize),
    cacheDir: resolve(opts.cacheDir ?? defaultCacheDir()),
    profiles,
    logger: ctx.log,
    signal: ctx.signal,
  });
  return opts.json ? `${JSON.stringify(r)}\n` : summary(r, opts.out);
}

function summary(r: PublishResult, out: string): string {
  return [
    `published to ${out}:`,
    `  image     ${mb(r.image_bytes)} (squashfs, zstd) in ${r.blocks} blocks of ${r.block_size / 1024} KiB on average: ${r.blocks_added} added, ${r.blocks_reused} reused, ${mb(r.bytes_written)} written (${mb(r.stored_bytes)} stored)`,
    `  kernel    ${r.kernel.path} (${mb(r.kernel.size)})`,
    `  miniroot  ${r.miniroot.path} (${mb(r.miniroot.size)})`,
    `  index     ${r.index.path}`,
    ...(r.profile ? [`  profile   ${r.profile.path} (${r.profile_blocks} blocks to fetch ahead${r.profile_dropped > 0 ? `; ${r.profile_dropped} recorded blocks are no longer in the image` : ''})`] : []),
    `  manifest  ${r.manifest}, sha256 ${r.sha256}`,
    '',
  ].join('\n');
}

function pruneSummary(r: PruneResult, out: string): string {
  return [
    `pruned ${out}: kept ${r.kept.length} version(s), dropped ${r.dropped.length}`,
    ...r.kept.map((s) => `  kept     ${s}`),
    ...r.dropped.map((s) => `  dropped  ${s}`),
    `  removed  ${r.files_removed} files (${r.blocks_removed} blocks), ${mb(r.bytes_removed)}`,
    '',
  ].join('\n');
}
