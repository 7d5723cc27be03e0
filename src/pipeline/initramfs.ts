/**
 * The preboot initramfs: a manifest of the overlay (the init script), BusyBox, kexec, the
 * kernel's network modules and the entries' data, written as a deterministic gzip'd cpio.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Config } from '../config/schema.js';
import { run, type RunCtx } from '../exec/run.js';
import type { Logger } from '../log.js';
import { PREBOOT_OVERLAY } from '../paths.js';
import { Manifest } from './manifest.js';
import { addEntryData } from './preboot/entries.js';
import { addNetworkData } from './preboot/network.js';
import type { KernelTree } from './preboot/kernel-package.js';
import { addModules, allPrebootModules } from './preboot/modules.js';
import { addSha256Tool } from './preboot/sha256-tool.js';
import { addBusybox, addKexec } from './preboot/userland.js';

/** Adds every file below a host directory (the rootfs overlay), keeping modes and symlinks. */
export function addTree(manifest: Manifest, hostDir: string, prefix = ''): void {
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const host = join(dir, name);
      const rel = join(prefix, relative(hostDir, host));
      const st = statSync(host);
      if (st.isDirectory()) {
        manifest.addDir(rel, st.mode & 0o7777);
        walk(host);
      } else {
        manifest.addHostFile(rel, host);
      }
    }
  };
  walk(hostDir);
}

/** The list of libraries /init sources, in the overlay (read by /init and by post-build.sh too). */
export const INIT_LIBS = 'lib/inetboot/libs';

/** Every library /init sources must be in the image: a missing one is a bug of the build. */
export function checkInitLibraries(manifest: Manifest): void {
  const list = manifest.get(INIT_LIBS);
  if (list?.type !== 'file') throw new Error(`internal: the preboot image has no ${INIT_LIBS}`);
  const missing = list.data
    .toString('utf8')
    .split('\n')
    .filter((name) => name !== '' && !manifest.has(`lib/inetboot/${name}.sh`));
  if (missing.length > 0) throw new Error(`internal: /init sources ${missing.map((n) => `lib/inetboot/${n}.sh`).join(', ')}, which the preboot image lacks`);
}

/** The skeleton every preboot needs before the init runs: /dev/console for the kernel to open. */
export function addSkeleton(manifest: Manifest): void {
  for (const d of ['proc', 'sys', 'dev', 'run', 'tmp', 'etc', 'root', 'var']) manifest.addDir(d);
  manifest.add({ type: 'chardev', path: 'dev/console', mode: 0o600, major: 5, minor: 1 });
  manifest.add({ type: 'chardev', path: 'dev/null', mode: 0o666, major: 1, minor: 3 });
}

export interface InitramfsResult {
  image: Buffer;
  files: number;
  modules: number;
}

export interface InitramfsOptions {
  config: Config;
  /** The kernel whose network modules are shipped; undefined for a kernel with its drivers built in. */
  kernel: KernelTree | undefined;
  workDir: string;
  logger?: Logger;
  signal?: AbortSignal;
  /** gzip (default) or xz; the kernel must have CONFIG_RD_GZIP or CONFIG_RD_XZ. */
  compression?: 'gzip' | 'xz';
}

export async function buildPrebootInitramfs(opts: InitramfsOptions): Promise<InitramfsResult> {
  const m = new Manifest();
  addSkeleton(m);
  addTree(m, PREBOOT_OVERLAY);
  checkInitLibraries(m);
  const ctx = { logger: opts.logger, signal: opts.signal };
  await addBusybox(m, ctx);
  await addKexec(m, ctx);
  await addSha256Tool(m, opts.workDir, ctx);
  const count = opts.kernel ? (await addModules(m, opts.kernel, allPrebootModules(), opts.workDir, ctx)).count : 0;
  addEntryData(m, opts.config);
  // openssl and a CA bundle only when the config uses https:// or tls: (several MB).
  await addNetworkData(m, opts.config, ctx);
  const image = await compressInitramfs(m.toCpio(), opts.compression ?? 'gzip', ctx);
  return { image, files: m.paths().length, modules: count };
}

/**
 * Node's gzip writes mtime 0 and a fixed OS byte: the same archive gives the same bytes.
 * Node has no xz, so xz runs as a program; the kernel's xz decoder knows only CRC32 (or no)
 * checks, not xz's default CRC64 ("XZ-compressed data is corrupt" at boot), hence --check=crc32.
 */
export async function compressInitramfs(cpio: Buffer, compression: 'gzip' | 'xz', ctx: RunCtx = {}): Promise<Buffer> {
  if (compression === 'gzip') return gzipSync(cpio, { level: 9 });
  const { stdoutBuffer } = await run('xz', ['--format=xz', '--check=crc32', '-9', '--extreme', '--threads=1', '--stdout'], { ...ctx, input: cpio, binary: true });
  return stdoutBuffer!;
}
