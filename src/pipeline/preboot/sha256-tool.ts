/**
 * The preboot's sha256 checker, /sbin/inetboot-sha256 (preboot-tools/inetboot-sha256.c),
 * compiled for each build against the host's libcrypto (static: only its SHA-256) and glibc
 * (dynamic: the preboot already carries glibc for kexec). The preboot's sha256_of (common.sh)
 * uses it for every pinned download instead of BusyBox's sha256sum: OpenSSL's assembly uses
 * the CPU's SHA instructions where it has them, about 6 times BusyBox's speed on such a CPU
 * (500 MB: 0.34 s against 1.95 s, whole-process timings), and is still about 1.4 times faster
 * without them (200 MB inside the preboots under QEMU/TCG: 2.0 s against 2.8 s, measured by
 * bench/preboot-steps.bench.ts). The compile takes well under a second, so it is not cached.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OperationError } from '../../errors.js';
import { run, type RunCtx } from '../../exec/run.js';
import { needs } from '../../exec/tools.js';
import { PACKAGE_ROOT } from '../../paths.js';
import type { Manifest } from '../manifest.js';
import { addProgramWithLibraries } from './userland.js';

export const SHA256_TOOL_SOURCE = join(PACKAGE_ROOT, 'preboot-tools', 'inetboot-sha256.c');

/** Where the preboot finds it (common.sh's sha256_of names the same path). */
export const SHA256_TOOL_PATH = 'sbin/inetboot-sha256';

/** The compiler and the static libcrypto (Debian's libssl-dev); checked before any work. */
export const SHA256_TOOL_NEEDS = needs('gcc', '/usr/lib/x86_64-linux-gnu/libcrypto.a');

/**
 * Compiles the checker into DIR and proves the build before it is shipped: it must print for
 * its own source what Node's sha256 does. Returns the program's path.
 */
export async function buildSha256Tool(dir: string, ctx: RunCtx = {}): Promise<string> {
  const out = join(dir, 'inetboot-sha256');
  await run('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', out, SHA256_TOOL_SOURCE, '-Wl,-Bstatic', '-lcrypto', '-Wl,-Bdynamic'], ctx);
  const want = `${createHash('sha256').update(readFileSync(SHA256_TOOL_SOURCE)).digest('hex')}  ${SHA256_TOOL_SOURCE}\n`;
  const got = (await run(out, [SHA256_TOOL_SOURCE], ctx)).stdout;
  if (got !== want) {
    throw new OperationError(`the preboot's sha256 checker, just compiled from ${SHA256_TOOL_SOURCE}, printed ${JSON.stringify(got)} for its own source, not ${JSON.stringify(want)}`, {
      hint: "check the host's libssl-dev (OpenSSL's libcrypto.a) and gcc",
    });
  }
  return out;
}

/** Compiles the checker in WORKDIR and adds it, with the libraries ldd names, to the initramfs. */
export async function addSha256Tool(manifest: Manifest, workDir: string, ctx: RunCtx = {}): Promise<void> {
  await addProgramWithLibraries(manifest, SHA256_TOOL_PATH, await buildSha256Tool(workDir, ctx), ctx);
}
