/**
 * Published roots for the host-level tests of `inetboot publish` and the block daemon:
 *   leanRoot()     a small root file system made of Debian's kernel package (from inetboot's
 *                  cache): its kernel, only the modules the miniroot takes (and their
 *                  dependencies), a /sbin/init and a few MB of seeded data, so that publishing
 *                  takes seconds; the QEMU tests use the real debootstrap root (debian-root.ts)
 *   startBlockd()  the daemon (the AddressSanitizer build) mounted on a fresh directory
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { run } from '../../src/exec/run.js';
import { defaultCacheDir } from '../../src/paths.js';
import { DEFAULT_KERNEL_PACKAGE } from '../../src/pipeline/build.js';
import { DAEMON_SOURCE } from '../../src/pipeline/publish/daemon.js';
import { MINIROOT_MODULES } from '../../src/pipeline/publish/miniroot.js';
import { prepareKernelPackage } from '../../src/pipeline/preboot/kernel-package.js';
import { allPrebootModules, moduleClosure } from '../../src/pipeline/preboot/modules.js';
import { parseIndex } from '../../src/pipeline/publish/index-file.js';
import { MANIFEST_NAME, parseManifest, type RootManifest } from '../../src/pipeline/publish/manifest.js';
import { bin } from './cli.js';
import { startNginx, type NginxServer } from './nginx.js';
import { outputDir } from './paths.js';

/** Bytes from a seeded generator: the same root, and so the same image, on every run. */
export function seeded(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a * 1664525 + 1013904223) >>> 0;
    b[i] = a >>> 24;
  }
  return b;
}

export async function leanRoot(name: string): Promise<string> {
  const root = join(outputDir(name), 'root');
  rmSync(root, { recursive: true, force: true });
  const k = await prepareKernelPackage(DEFAULT_KERNEL_PACKAGE, defaultCacheDir());
  mkdirSync(join(root, 'boot'), { recursive: true });
  copyFileSync(k.vmlinuz, join(root, 'boot', `vmlinuz-${k.release}`));
  const mods = join(root, 'lib', 'modules', k.release);
  const depText = readFileSync(join(k.modulesDir, 'modules.dep'), 'utf8');
  const builtinText = readFileSync(join(k.modulesDir, 'modules.builtin'), 'utf8');
  const { files } = moduleClosure(depText, builtinText, [...allPrebootModules(), ...MINIROOT_MODULES]);
  for (const rel of files) {
    mkdirSync(dirname(join(mods, rel)), { recursive: true });
    copyFileSync(join(k.modulesDir, rel), join(mods, rel));
  }
  for (const f of ['modules.builtin', 'modules.order', 'modules.builtin.modinfo']) copyFileSync(join(k.modulesDir, f), join(mods, f));
  await run('depmod', ['-b', root, k.release]);
  mkdirSync(join(root, 'sbin'), { recursive: true });
  writeFileSync(join(root, 'sbin', 'init'), '#!/bin/sh\necho "lean root: no system here"\n');
  chmodSync(join(root, 'sbin', 'init'), 0o755);
  mkdirSync(join(root, 'srv', 'data'), { recursive: true });
  writeFileSync(join(root, 'srv', 'data', 'random.bin'), seeded(6 * 1024 * 1024 + 12345, 1));
  writeFileSync(join(root, 'srv', 'data', 'text.txt'), 'the lean root of the inetboot tests\n'.repeat(20000));
  for (let i = 0; i < 50; i++) writeFileSync(join(root, 'srv', `small-${i}`), `small file ${i}\n`);
  return root;
}

/**
 * leanRoot(NAME-root) published with 64 KiB blocks into OUT (emptied first), served by nginx,
 * and the AddressSanitizer daemon: what the daemon's host tests start from.
 */
export async function publishedLean(name: string, out: string): Promise<{ manifest: RootManifest; nginx: NginxServer; daemon: string }> {
  const root = await leanRoot(`${name}-root`);
  rmSync(out, { recursive: true, force: true });
  const r = await bin(['publish', root, '--out', out, '--block-size', '64K', '--json']);
  if (r.code !== 0) throw new Error(`publish failed:\n${r.stderr}`);
  const manifest = parseManifest(readFileSync(join(out, MANIFEST_NAME), 'utf8'));
  const daemon = await asanBlockd();
  return { manifest, daemon, nginx: await startNginx({ root: out, name: `${name}-nginx` }) };
}

/**
 * Reads block i of a mounted image with dd, as a program would (its offset and length from the
 * index: blocks have lengths of their own). Resolves with dd's exit code and stderr.
 */
export async function ddBlock(image: string, indexFile: string, i: number): Promise<{ exitCode: number; stderr: string }> {
  const blocks = parseIndex(readFileSync(indexFile), indexFile);
  const off = blocks.slice(0, i).reduce((n, b) => n + b.length, 0);
  const r = await execa('dd', [`if=${image}`, 'of=/dev/null', 'bs=65536', 'iflag=skip_bytes,count_bytes', `skip=${off}`, `count=${blocks[i]!.length}`], { reject: false });
  return { exitCode: r.exitCode ?? -1, stderr: r.stderr };
}

/** The daemon built with AddressSanitizer and UBSan, into the test output (make asan). */
export async function asanBlockd(): Promise<string> {
  const out = join(outputDir('blockd-build'), 'build');
  await run('make', ['-C', DAEMON_SOURCE, `OUT=${out}`, 'asan']);
  return join(out, 'asan', 'inetboot-blockd');
}

export interface MountedBlockd {
  mountpoint: string;
  image: string;
  stats(): Record<string, number>;
  /** What the daemon said (stderr of its foreground run), so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Runs the daemon in the foreground on a fresh mount point and waits for its image to appear;
 * `args` are the daemon's options (sources, index). Resolves with the mount, or rejects with what
 * the daemon said when it exited first.
 */
export async function startBlockd(binary: string, args: string[]): Promise<MountedBlockd> {
  const mountpoint = mkdtempSync(join(tmpdir(), 'inetboot-blockd-'));
  let log = '';
  const child = execa(binary, [...args, '--foreground', mountpoint], { reject: false, all: true, env: { ASAN_OPTIONS: 'detect_leaks=0' } });
  child.all?.on('data', (d: Buffer) => (log += d.toString()));
  let exited = false;
  void child.then(() => (exited = true));
  // Long enough for an index fetch from a stalled source to time out (15 s) and move on.
  const deadline = Date.now() + 45_000;
  for (;;) {
    const r = await execa('mountpoint', ['-q', mountpoint], { reject: false });
    if (r.exitCode === 0) break;
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      await child;
      rmSync(mountpoint, { recursive: true, force: true });
      throw new Error(`the daemon did not mount:\n${log}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    mountpoint,
    image: join(mountpoint, 'image'),
    stats: () => Object.fromEntries(readFileSync(join(mountpoint, 'stats'), 'utf8').trim().split('\n').map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1])])),
    log: () => log,
    stop: async () => {
      // Unmounted, the daemon ends by itself once its queued cache writes are on disk
      // (daemon/fs.c, fs_destroy); SIGTERM only if it does not.
      await execa('umount', [mountpoint], { reject: false });
      const timer = setTimeout(() => child.kill('SIGTERM'), 20_000);
      await child;
      clearTimeout(timer);
      rmSync(mountpoint, { recursive: true, force: true });
    },
  };
}
