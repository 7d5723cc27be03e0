import { resolve } from 'node:path';
import { loadConfig, requireEntries } from '../config/load.js';
import { checkOutputFile } from '../files/output.js';
import { defaultCacheDir } from '../paths.js';
import { buildIso } from '../pipeline/build.js';
import { parseCachePartitionSize } from '../pipeline/cache-partition.js';
import type { PrebootBackend } from '../pipeline/preboot/backend.js';
import { prebootSettings } from './build-preboot.js';
import type { CommandContext } from './context.js';

export const DEFAULT_ISO = 'inetboot.iso';
export const DEFAULT_STICK = 'inetboot-stick.img';

export interface BuildIsoOptions {
  config: string;
  /** Default: DEFAULT_ISO, or DEFAULT_STICK with cachePartition. */
  output?: string;
  /** A size as typed (1G): write a USB stick image with a cache partition of that size. */
  cachePartition?: string;
  cacheDir?: string;
  keepWorkdir?: boolean;
  prebootBackend?: PrebootBackend;
  kernelSource?: string;
  buildrootDir?: string;
  jobs?: number;
}

/** Builds the ISO (or the USB stick image); returns the path written (printed on stdout for scripts). */
export async function buildIsoCommand(opts: BuildIsoOptions, ctx: CommandContext): Promise<string> {
  const cachePartitionBytes = opts.cachePartition === undefined ? undefined : parseCachePartitionSize(opts.cachePartition);
  const fallback = cachePartitionBytes ? DEFAULT_STICK : DEFAULT_ISO;
  const output = opts.output ?? fallback;
  checkOutputFile(output, '-o', fallback);
  const loaded = await loadConfig(opts.config);
  requireEntries(loaded);
  const { config } = loaded;
  const result = await buildIso({
    config,
    output: resolve(output),
    cacheDir: resolve(opts.cacheDir ?? defaultCacheDir()),
    preboot: prebootSettings(config, opts.config, { backend: opts.prebootBackend, kernelSource: opts.kernelSource, buildrootDir: opts.buildrootDir, jobs: opts.jobs }),
    keepWorkdir: opts.keepWorkdir,
    cachePartitionBytes,
    logger: ctx.log,
    signal: ctx.signal,
  });
  return result.output;
}
