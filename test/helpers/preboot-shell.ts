/**
 * The one harness for tests that run the preboot's shell libraries (lib/inetboot/*.sh) with the
 * host's BusyBox sh, the same BusyBox 1.35 build as the preboot's: a script runs after the
 * libraries it names are sourced, with IB_LIB set and its own arguments as "$@".
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { PREBOOT_OVERLAY } from '../../src/paths.js';
import { buildSha256Tool } from '../../src/pipeline/preboot/sha256-tool.js';
import { testTempDir } from './temp.js';

export const PREBOOT_LIB = join(PREBOOT_OVERLAY, 'lib/inetboot');

export interface ShellResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they came. */
  all: string;
}

export interface ShellOptions {
  /** The libraries to source, by name (common, net, http, ...); default: all, in lib/inetboot/libs order. */
  libs?: readonly string[];
  args?: readonly string[];
  env?: Record<string, string>;
  timeoutMs?: number;
}

export async function prebootSh(script: string, opts: ShellOptions = {}): Promise<ShellResult> {
  for (const l of opts.libs ?? []) if (!/^[a-z]+$/.test(l)) throw new Error(`not a library name: ${l}`);
  const source = opts.libs
    ? `for f in ${opts.libs.join(' ')}; do . "$IB_LIB/$f.sh"; done`
    : 'while IFS= read -r f; do . "$IB_LIB/$f.sh"; done <"$IB_LIB/libs"';
  const r = await execa('busybox', ['sh', '-c', `IB_LIB=$1; shift; ${source}\n${script}`, 'sh', PREBOOT_LIB, ...(opts.args ?? [])], {
    reject: false,
    all: true,
    env: opts.env,
    timeout: opts.timeoutMs,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, all: r.all ?? '' };
}

let sha256Tool: Promise<string> | undefined;

/** The preboot's sha256 checker (preboot-tools/inetboot-sha256.c), compiled once per test file. */
export function prebootSha256Tool(): Promise<string> {
  sha256Tool ??= buildSha256Tool(testTempDir('inetboot-sha256-tool-'));
  return sha256Tool;
}

export interface FetchResult {
  code: number;
  /** The console: stdout and stderr interleaved. */
  out: string;
  /** What landed at DEST, or undefined. */
  file?: Buffer;
}

/**
 * fetch_sources (lib/inetboot/fetch.sh) over URLS in a fresh run directory, as the preboot runs
 * it for an artifact named "blob": with a sha256 and size to check, extra command-line
 * parameters, and the cache allow-list IB_CACHE_DEVICES (empty: no cache). `names`: several
 * files fetched one after another in the same run (as kernel and initrd are), each from URLS;
 * `file` is then the last one's. Files are checked by the preboot's sha256 checker, as in the
 * debian and kernel-source preboots, or by `hasher` (IB_SHA256, common.sh's sha256_of).
 */
export async function fetchSources(
  urls: readonly string[],
  opts: { sha?: string; size?: number; cmdline?: string; cacheDevices?: string; timeoutMs?: number; names?: readonly string[]; hasher?: string } = {},
): Promise<FetchResult> {
  const names = opts.names ?? ['blob'];
  for (const n of names) if (!/^[a-z]+$/.test(n)) throw new Error(`not a file name: ${n}`);
  const run = testTempDir('inetboot-fetch-');
  writeFileSync(join(run, 'cmdline'), `ib.stall=2 ib.probe=2 ib.retries=0 ${opts.cmdline ?? ''}\n`);
  writeFileSync(join(run, 'list'), urls.map((u) => `${u}\n`).join(''));
  const r = await prebootSh(
    'IB_RUN=$1 IB_CMDLINE_FILE=$1/cmdline IB_DOWNLOAD_TIMEOUT=60 IB_PROGRESS=1 IB_CACHE_DEVICES=$4\nfor n in $5; do fetch_sources "$n" "$IB_RUN/list" "$2" "$3" "$IB_RUN/$n" || exit 1; done',
    {
      args: [run, opts.sha ?? '', opts.size === undefined ? '' : String(opts.size), opts.cacheDevices ?? '', names.join(' ')],
      timeoutMs: opts.timeoutMs,
      env: { IB_SHA256: opts.hasher ?? (await prebootSha256Tool()) },
    },
  );
  let file: Buffer | undefined;
  try {
    file = readFileSync(join(run, names[names.length - 1]!));
  } catch {
    file = undefined;
  }
  return { code: r.code, out: r.all, file };
}
