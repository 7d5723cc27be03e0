/**
 * The block daemon and the packer (daemon/ in this repository: C against Debian's libfuse3,
 * libcurl, libzstd and libcrypto), built with its Makefile into the cache and reused while
 * neither the sources nor the compiler change: cacheDir/blockd/HASH/{inetboot-blockd,inetboot-pack}.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MissingToolError } from '../../errors.js';
import { run, type RunCtx } from '../../exec/run.js';
import { needs } from '../../exec/tools.js';
import { replaceDirectory } from '../../files/replace.js';
import { PACKAGE_ROOT } from '../../paths.js';

export const DAEMON_SOURCE = join(PACKAGE_ROOT, 'daemon');
export const DAEMON_TOOLS = needs('make', 'gcc', 'pkg-config');

/** The development packages the build needs, by pkg-config name. */
export const DAEMON_LIBRARIES: Record<string, string> = { fuse3: 'libfuse3-dev', libcurl: 'libcurl4-openssl-dev', libzstd: 'libzstd-dev', libcrypto: 'libssl-dev' };

/** True when pkg-config knows the library, i.e. its -dev package is installed. */
export async function hasLibrary(lib: string, ctx: RunCtx = {}): Promise<boolean> {
  return (await run('pkg-config', ['--exists', lib], { ...ctx, okExitCodes: [0, 1] })).exitCode === 0;
}

export interface BlockdBuild {
  daemon: string;
  pack: string;
  dir: string;
}

/** What the build reads: the C sources, headers and the Makefile (not daemon/build/, which a
 * developer's own `make` in daemon/ leaves there). */
const isDaemonSource = (name: string): boolean => /\.[ch]$/.test(name) || name === 'Makefile';

async function sourceKey(ctx: RunCtx): Promise<string> {
  const h = createHash('sha256');
  for (const f of readdirSync(DAEMON_SOURCE).filter(isDaemonSource).sort()) h.update(`${f}\0`).update(readFileSync(join(DAEMON_SOURCE, f))).update('\0');
  h.update((await run('gcc', ['--version'], ctx)).stdout.split('\n')[0] ?? '');
  return h.digest('hex').slice(0, 16);
}

export async function buildBlockd(cacheDir: string, ctx: RunCtx = {}): Promise<BlockdBuild> {
  const missing: { name: string; pkg: string; reason: string }[] = [];
  for (const [lib, pkg] of Object.entries(DAEMON_LIBRARIES)) {
    if (!(await hasLibrary(lib, ctx))) missing.push({ name: `${lib} (pkg-config)`, pkg, reason: 'the block daemon is built against it' });
  }
  if (missing.length > 0) throw new MissingToolError(missing);
  const dir = join(cacheDir, 'blockd', await sourceKey(ctx));
  const result = { daemon: join(dir, 'inetboot-blockd'), pack: join(dir, 'inetboot-pack'), dir };
  if (existsSync(result.daemon) && existsSync(result.pack)) return result;
  ctx.logger?.info(`building the block daemon (${DAEMON_SOURCE})`);
  await replaceDirectory(dir, async (out) => void (await run('make', ['-C', DAEMON_SOURCE, `OUT=${out}`, 'all'], ctx)), { signal: ctx.signal });
  return result;
}
