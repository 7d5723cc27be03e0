/** `inetboot publish ROOTDIR --out DIR`: a root file system as a tree to boot lazily over HTTP. */
import { resolve } from 'node:path';
import { defaultCacheDir } from '../paths.js';
import { DEFAULT_BLOCK_SIZE, parseBlockSize, publish, type PublishResult } from '../pipeline/publish/publish.js';
import type { CommandContext } from './context.js';

export interface PublishOptions {
  out: string;
  blockSize?: string;
  json?: boolean;
  cacheDir?: string;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export async function publishCommand(root: string, opts: PublishOptions, ctx: CommandContext): Promise<string> {
  const r = await publish({
    root: resolve(root),
    out: resolve(opts.out),
    blockSize: opts.blockSize === undefined ? DEFAULT_BLOCK_SIZE : parseBlockSize(opts.blockSize),
    cacheDir: resolve(opts.cacheDir ?? defaultCacheDir()),
    logger: ctx.log,
    signal: ctx.signal,
  });
  return opts.json ? `${JSON.stringify(r)}\n` : summary(r, opts.out);
}

function summary(r: PublishResult, out: string): string {
  return [
    `published to ${out}:`,
    `  image     ${mb(r.image_bytes)} (squashfs, zstd) in ${r.blocks} blocks of ${r.block_size / 1024} KiB: ${r.blocks_added} added, ${r.blocks_reused} reused, ${mb(r.bytes_written)} written (${mb(r.stored_bytes)} stored)`,
    `  kernel    ${r.kernel.path} (${mb(r.kernel.size)})`,
    `  miniroot  ${r.miniroot.path} (${mb(r.miniroot.size)})`,
    `  index     ${r.index.path}`,
    `  manifest  ${r.manifest}, sha256 ${r.sha256}`,
    '',
  ].join('\n');
}
