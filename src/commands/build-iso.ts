import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import { defaultCacheDir } from '../paths.js';
import { buildIso } from '../pipeline/build.js';
import type { PrebootBackend } from '../pipeline/preboot/backend.js';
import { prebootSettings } from './build-preboot.js';

export interface BuildIsoOptions {
  config: string;
  output: string;
  cacheDir?: string;
  keepWorkdir?: boolean;
  prebootBackend?: PrebootBackend;
  kernelSource?: string;
  buildrootDir?: string;
}

/** Builds the ISO; returns the path written (printed on stdout for scripts). */
export async function buildIsoCommand(opts: BuildIsoOptions, log: Logger): Promise<string> {
  const { config } = await loadConfig(opts.config);
  const result = await buildIso({
    config,
    output: resolve(opts.output),
    cacheDir: resolve(opts.cacheDir ?? defaultCacheDir()),
    preboot: prebootSettings(config, opts.config, { backend: opts.prebootBackend, kernelSource: opts.kernelSource, buildrootDir: opts.buildrootDir }),
    keepWorkdir: opts.keepWorkdir,
    logger: log,
  });
  return result.output;
}
