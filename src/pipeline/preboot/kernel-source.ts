/**
 * The kernel-source backend: a small preboot kernel built from a Linux source tree (Debian's
 * `linux-source-6.1` gives /usr/src/linux-source-6.1.tar.xz) as `make tinyconfig` plus
 * buildroot-overlay/board/inetboot/linux.config, every driver built in.
 *
 * Cached by a hash of its inputs (the source's identity, the fragment, the compiler's version),
 * in cacheDir/kernel-source/<hash>/: a second build-iso does not rebuild it. A build takes
 * about 5 minutes on 2 cores (5 min 20 s measured for Debian's Linux 6.1 on an idle machine)
 * and runs under `nice`.
 *
 * Quirks:
 * - ARCH=x86_64, not x86: tinyconfig with ARCH=x86 asks for 64BIT and allnoconfig answers no,
 *   which gives a 32-bit kernel that cannot kexec a 64-bit target.
 * - merge_config.sh -m only merges; olddefconfig then fills in dependencies. A fragment line
 *   whose dependencies are not met is dropped silently (CONFIG_TMPFS needs CONFIG_SHMEM, which
 *   tinyconfig turns off), so every `=y` of the fragment is checked in the final .config.
 * - KCFLAGS (KERNEL_CFLAGS below): tinyconfig builds with -Os, and gcc then inlines every
 *   memset and memcpy of known size as `rep stosb` / `rep movsb`, one byte per step. Under
 *   QEMU/TCG a byte store to a page whose code has run goes through QEMU's self-modifying-code
 *   check, so free_initmem's poisoning of the 596 KB of init code (free_reserved_area,
 *   mm/page_alloc.c) alone took 0.19 s before /init ran. With 8-byte steps the kernel reached
 *   /init 0.3 to 0.45 s sooner (kernel time, with CONFIG_LEGACY_PTYS off too; README "Against
 *   iPXE" has the figures), and is 20 KB bigger. On hardware either form is fast.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { OperationError, UsageError } from '../../errors.js';

import { needs } from '../../exec/tools.js';
import type { Logger } from '../../log.js';
import { PACKAGE_ROOT } from '../../paths.js';
import { elapsed, longBuild, run, type RunCtx } from '../../exec/run.js';
import { replaceDirectory } from '../../files/replace.js';
import { sha256File, sha256Hex } from '../../files/hash.js';

export const LINUX_FRAGMENT = join(PACKAGE_ROOT, 'buildroot-overlay', 'board', 'inetboot', 'linux.config');
/** Debian's source package: `apt-get install linux-source-6.1`. */
export const DEBIAN_KERNEL_SOURCE = '/usr/src/linux-source-6.1.tar.xz';
/** Bump when the way the kernel is built changes, so that old cache entries are not reused. */
const RECIPE = 'inetboot-kernel-source-2';
/** Extra compiler flags for the whole kernel (the header says why); part of the cache key. */
export const KERNEL_CFLAGS = '-mstringop-strategy=rep_8byte';
/** The version banner ("Linux version ... (USER@HOST)") names inetboot, not the machine that built it. */
const KBUILD_NAMES = ['KBUILD_BUILD_USER=inetboot', 'KBUILD_BUILD_HOST=inetboot'];

// gelf.h: x86_64's tinyconfig keeps CONFIG_OBJTOOL, whose build needs libelf's headers; without
// them `make` fails minutes into the build ("gelf.h: No such file or directory").
export const KERNEL_SOURCE_TOOLS = needs('make', 'gcc', 'flex', 'bison', 'bc', 'tar', 'xz', 'nice', '/usr/include/gelf.h');

export interface SourceKernel {
  bzImage: string;
  /** `make kernelrelease`, e.g. 6.1.192. */
  release: string;
  /** The final .config. */
  config: string;
  /** The cache key (hex). */
  key: string;
  cached: boolean;
}

/** The `CONFIG_X=y` lines of a fragment, as symbol names. */
export function requiredSymbols(fragment: string): string[] {
  return [...fragment.matchAll(/^(CONFIG_[A-Za-z0-9_]+)=y\s*$/gm)].map((m) => m[1]!);
}

/** Symbols the fragment sets =y that the final .config does not have =y. */
export function missingSymbols(fragment: string, finalConfig: string): string[] {
  const set = new Set([...finalConfig.matchAll(/^(CONFIG_[A-Za-z0-9_]+)=y$/gm)].map((m) => m[1]!));
  return requiredSymbols(fragment).filter((s) => !set.has(s));
}

/**
 * What identifies the source: a tarball by its bytes; a directory by its path and its top
 * Makefile (version lines). Edits elsewhere in a source directory are not noticed: delete
 * cacheDir/kernel-source/ to rebuild.
 */
async function sourceIdentity(source: string): Promise<string> {
  const st = statSync(source);
  if (st.isFile()) return `tarball ${await sha256File(source)}`;
  return `directory ${realpathSync(source)} ${sha256Hex(readFileSync(join(source, 'Makefile')))}`;
}

export async function kernelCacheKey(source: string, fragment: string, ctx: RunCtx = {}): Promise<string> {
  const { stdout: cc } = await run('gcc', ['--version'], ctx);
  const h = createHash('sha256');
  h.update(`${RECIPE}\n${KERNEL_CFLAGS}\n${await sourceIdentity(source)}\n${cc.split('\n')[0]}\n`);
  h.update(fragment);
  return h.digest('hex');
}

function checkSource(source: string): void {
  if (!existsSync(source)) {
    throw new UsageError(`kernel source ${source} does not exist`, {
      hint: `install Debian's kernel source (apt-get install linux-source-6.1) and pass --kernel-source ${DEBIAN_KERNEL_SOURCE}, or a Linux source directory`,
    });
  }
  if (statSync(source).isDirectory() && !existsSync(join(source, 'scripts', 'kconfig', 'merge_config.sh'))) {
    throw new UsageError(`${source} is not a Linux source tree (it has no scripts/kconfig/merge_config.sh)`, {
      hint: `pass the top directory of a Linux source tree, or a tarball such as ${DEBIAN_KERNEL_SOURCE}`,
    });
  }
}

/** Builds (or reuses from the cache) the preboot kernel from a source tree or tarball. */
export async function buildSourceKernel(opts: { source: string; cacheDir: string; jobs?: number; logger?: Logger; signal?: AbortSignal }): Promise<SourceKernel> {
  const { source, logger, signal } = opts;
  const ctx = { logger, signal };
  checkSource(source);
  const fragment = readFileSync(LINUX_FRAGMENT, 'utf8');
  const key = await kernelCacheKey(source, fragment, ctx);
  const dir = join(opts.cacheDir, 'kernel-source', key.slice(0, 16));
  const result = (cached: boolean): SourceKernel => ({
    bzImage: join(dir, 'bzImage'),
    release: readFileSync(join(dir, 'release'), 'utf8').trim(),
    config: join(dir, 'config'),
    key,
    cached,
  });
  if (existsSync(join(dir, '.complete'))) {
    logger?.info(`preboot kernel: reusing the build in ${dir}`);
    return result(true);
  }

  // The unpacked source and the objects (1.5 GB) live in work/ only while the build runs; a
  // failed build keeps work/build.log (its error names it), an interrupted one nothing.
  const work = `${dir}.build`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const logFile = join(work, 'build.log');
  const out = join(work, 'out');
  mkdirSync(out);
  const started = Date.now();
  let src = source;
  try {
    if (statSync(source).isFile()) {
      logger?.info(`unpacking ${source}`);
      src = join(work, 'src');
      mkdirSync(src);
      await run('tar', ['-xf', source, '-C', src, '--strip-components=1'], { ...ctx, logFile });
    }
    // O= keeps a source directory untouched: it may be read-only, or shared by other builds.
    const make = (args: string[]) => ['-C', src, `O=${out}`, 'ARCH=x86_64', ...args];
    logger?.info(`configuring: tinyconfig + ${LINUX_FRAGMENT}`);
    await run('make', make(['tinyconfig']), { ...ctx, logFile });
    await run(join(src, 'scripts', 'kconfig', 'merge_config.sh'), ['-m', '-O', out, join(out, '.config'), LINUX_FRAGMENT], { ...ctx, logFile, cwd: src });
    await run('make', make(['olddefconfig']), { ...ctx, logFile });
    const missing = missingSymbols(fragment, readFileSync(join(out, '.config'), 'utf8'));
    if (missing.length > 0) {
      throw new OperationError(`the kernel configuration lacks ${missing.join(', ')} from ${LINUX_FRAGMENT}: their dependencies are not met in this kernel version`, {
        hint: `add the options they depend on to the fragment (see their "depends on" in the source's Kconfig files); log: ${logFile}`,
      });
    }
    const jobs = opts.jobs ?? availableParallelism();
    logger?.info(`building the kernel with ${jobs} jobs (about 5 minutes on 2 cores); log: ${logFile}`);
    await longBuild('make', make([`-j${jobs}`, `KCFLAGS=${KERNEL_CFLAGS}`, ...KBUILD_NAMES, 'bzImage']), {
      logFile,
      logger,
      signal,
      nice: true,
      progress: (line) => /^\s+(?:CC|LD|AR|AS|OBJCOPY)\s+(\S+)/.exec(line)?.[1],
    });
    const { stdout: release } = await run('make', make(['-s', 'kernelrelease']), ctx);
    await replaceDirectory(
      dir,
      async (staged) => {
        copyFileSync(join(out, 'arch', 'x86', 'boot', 'bzImage'), join(staged, 'bzImage'));
        copyFileSync(join(out, '.config'), join(staged, 'config'));
        copyFileSync(logFile, join(staged, 'build.log'));
        writeFileSync(join(staged, 'release'), release.trim() + '\n');
        writeFileSync(join(staged, '.complete'), `${key}\n`);
      },
      { signal },
    );
    rmSync(work, { recursive: true, force: true });
    logger?.info(`preboot kernel ${release.trim()} built in ${elapsed(Date.now() - started)}: ${(statSync(join(dir, 'bzImage')).size / 1048576).toFixed(2)} MiB`);
    return result(false);
  } catch (err) {
    if (signal?.aborted) rmSync(work, { recursive: true, force: true });
    else for (const big of [join(work, 'src'), out]) rmSync(big, { recursive: true, force: true });
    throw err;
  }
}
