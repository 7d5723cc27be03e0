/**
 * `inetboot build-preboot`: builds the preboot kernel and initramfs alone, with the chosen
 * backend, into a directory (vmlinuz, preboot.img). Also home of the one function that
 * settles the preboot settings for build-iso and build-preboot:
 *   built-in defaults (debian) < the config's `preboot:` < command-line flags.
 */
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { checkOutputDir } from '../files/output.js';
import { defaultCacheDir } from '../paths.js';
import { buildPrebootFiles, type PrebootFilesResult } from '../pipeline/build.js';
import type { PrebootBackend, PrebootSettings } from '../pipeline/preboot/backend.js';
import type { CommandContext } from './context.js';

export interface PrebootFlags {
  backend?: PrebootBackend;
  kernelSource?: string;
  buildrootDir?: string;
  /** As typed; a positive whole number (commander checked it). */
  jobs?: number;
}

/** Paths in the config are relative to the config file; paths on the command line to the current directory. */
export function prebootSettings(config: Config, configFile: string, flags: PrebootFlags): PrebootSettings {
  const fromFile = (p: string | undefined) => (p === undefined ? undefined : resolve(dirname(resolve(configFile)), p));
  const fromFlag = (p: string | undefined) => (p === undefined ? undefined : resolve(p));
  return {
    backend: flags.backend ?? config.preboot?.backend ?? 'debian',
    kernelSource: fromFlag(flags.kernelSource) ?? fromFile(config.preboot?.kernel_source),
    buildrootDir: fromFlag(flags.buildrootDir) ?? fromFile(config.preboot?.buildroot_dir),
    jobs: flags.jobs,
  };
}

export interface BuildPrebootOptions extends PrebootFlags {
  config: string;
  output: string;
  cacheDir?: string;
  /** Print a JSON object on stdout instead of the two paths. */
  json?: boolean;
}

/** Builds DIR/vmlinuz and DIR/preboot.img; prints their paths, or with --json one object. */
export async function buildPrebootCommand(opts: BuildPrebootOptions, ctx: CommandContext, out: (s: string) => void): Promise<PrebootFilesResult> {
  checkOutputDir(opts.output, '-o');
  const { config } = await loadConfig(opts.config);
  const settings = prebootSettings(config, opts.config, opts);
  const r = await buildPrebootFiles({
    config,
    outDir: resolve(opts.output),
    cacheDir: resolve(opts.cacheDir ?? defaultCacheDir()),
    preboot: settings,
    logger: ctx.log,
    signal: ctx.signal,
  });
  out(
    opts.json
      ? JSON.stringify({ kernel: r.kernel, initramfs: r.initramfs, backend: settings.backend, description: r.description, kernel_bytes: r.kernelBytes, initramfs_bytes: r.initramfsBytes }, null, 2) + '\n'
      : `${r.kernel}\n${r.initramfs}\n`,
  );
  return r;
}
