import { resolve } from 'node:path';
import { loadConfig, requireEntries } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { sha256File } from '../files/hash.js';
import { checkOutputFile } from '../files/output.js';
import { defaultCacheDir } from '../paths.js';
import { buildIso, type BuildResult } from '../pipeline/build.js';
import { CACHE_LABEL } from '../pipeline/cache-disk.js';
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
  /** Print a JSON object (buildIsoJson) on stdout instead of the path. */
  json?: boolean;
}

/**
 * Builds the ISO (or the USB stick image) and prints, for scripts, the path written or with
 * --json one object that says what was built.
 */
export async function buildIsoCommand(opts: BuildIsoOptions, ctx: CommandContext, out: (s: string) => void): Promise<void> {
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
  out(opts.json ? JSON.stringify(await buildIsoJson(result, config), null, 2) + '\n' : result.output + '\n');
}

/** build-iso --json: what a pipeline needs to keep, check or boot the image (README, "Machine-readable output"). */
export async function buildIsoJson(r: BuildResult, config: Config): Promise<Record<string, unknown>> {
  return {
    output: r.output,
    kind: r.cachePartition ? 'usb-stick' : 'iso',
    bytes: r.isoBytes,
    sha256: await sha256File(r.output),
    cache_partition: r.cachePartition ? { number: r.cachePartition.number, offset: r.cachePartition.offset, bytes: r.cachePartition.bytes, label: CACHE_LABEL } : null,
    preboot: { backend: r.preboot.backend, description: r.preboot.description, kernel_bytes: r.preboot.kernelBytes, initramfs_bytes: r.preboot.initramfsBytes },
    entries: config.entries.map((e) => ({ id: e.id, title: e.title })),
    default: config.default ?? config.entries[0]?.id ?? null,
    workdir: r.workDir ?? null,
  };
}
