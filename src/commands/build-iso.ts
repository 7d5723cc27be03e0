import { resolve } from 'node:path';
import { loadConfig, requireEntries } from '../config/load.js';
import { checkOutputFile } from '../files/output.js';
import { defaultCacheDir } from '../paths.js';
import { buildIso } from '../pipeline/build.js';
import type { PrebootBackend } from '../pipeline/preboot/backend.js';
import { prebootSettings } from './build-preboot.js';
import type { CommandContext } from './context.js';

export interface BuildIsoOptions {
  config: string;
  output: string;
  cacheDir?: string;
  keepWorkdir?: boolean;
  prebootBackend?: PrebootBackend;
  kernelSource?: string;
  buildrootDir?: string;
  jobs?: number;
}

/** Builds the ISO; returns the path written (printed on stdout for scripts). */
export async function buildIsoCommand(opts: BuildIsoOptions, ctx: CommandContext): Promise<string> {
  checkOutputFile(opts.output, '-o');
  const loaded = await loadConfig(opts.config);
  requireEntries(loaded);
  const { config } = loaded;
  const result = await buildIso({
    config,
    output: resolve(opts.output),
    cacheDir: resolve(opts.cacheDir ?? defaultCacheDir()),
    preboot: prebootSettings(config, opts.config, { backend: opts.prebootBackend, kernelSource: opts.kernelSource, buildrootDir: opts.buildrootDir, jobs: opts.jobs }),
    keepWorkdir: opts.keepWorkdir,
    logger: ctx.log,
    signal: ctx.signal,
  });
  return result.output;
}
