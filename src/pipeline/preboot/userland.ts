/**
 * The preboot's programs from the host's Debian packages: BusyBox (busybox-static) with a
 * symlink per applet, and kexec (kexec-tools) with every shared library `ldd` names
 * (Debian's kexec links the Xen libraries).
 */
import { realpathSync } from 'node:fs';
import { run, type RunCtx } from '../../exec/run.js';
import { findProgram } from '../../exec/tools.js';
import { MissingToolError, OperationError } from '../../errors.js';
import type { Manifest } from '../manifest.js';

/** Applets we never link: /init is ours. */
const SKIPPED_APPLETS = new Set(['linuxrc', 'init']);

function requireProgram(name: string, pkg: string): string {
  const p = findProgram(name);
  if (!p) throw new MissingToolError([{ name, pkg, reason: 'copied into the preboot initramfs' }]);
  return p;
}

/** Shared libraries of an ELF program, as absolute host paths ([] for a static program). */
export async function sharedLibraries(program: string, ctx: RunCtx = {}): Promise<string[]> {
  // ldd exits 1 with "not a dynamic executable" for static programs: not an error here.
  const r = await run('ldd', [program], { ...ctx, okExitCodes: [0, 1] });
  if (r.exitCode !== 0) {
    if (/not a dynamic executable|statically linked/.test(r.stdout + r.stderr)) return [];
    throw new OperationError(`ldd ${program} failed: ${r.stderr || r.stdout}`);
  }
  const libs: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (/not found/.test(line)) throw new OperationError(`${program} needs a library that is not installed: ${line.trim()}`);
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

/** Adds a program and its libraries at the same paths as on the host (libraries resolved through symlinks). */
export async function addProgramWithLibraries(manifest: Manifest, archivePath: string, hostPath: string, ctx: RunCtx = {}): Promise<void> {
  manifest.addHostFile(archivePath, realpathSync(hostPath), 0o755);
  for (const lib of await sharedLibraries(hostPath, ctx)) {
    manifest.addHostFile(lib, realpathSync(lib), 0o755);
  }
}

/**
 * The host's busybox-static, never a dynamically linked build: with Debian's dynamic `busybox`
 * (glibc) the tiny preboot's stages from the NIC drivers to the downloads took 2 to 8 times
 * longer under QEMU/TCG, and a target it kexec'd on UEFI booted 3.5 s slower (measured by
 * bench/ipxe.bench.ts; README, "Preboot backends").
 */
export async function addBusybox(manifest: Manifest, ctx: RunCtx = {}): Promise<{ applets: number }> {
  const busybox = requireProgram('busybox', 'busybox-static');
  if ((await sharedLibraries(busybox, ctx)).length > 0) {
    throw new MissingToolError([{ name: 'busybox (static)', pkg: 'busybox-static', reason: `${busybox} is dynamically linked; the preboot needs the static build` }]);
  }
  manifest.addHostFile('bin/busybox', realpathSync(busybox), 0o755);
  const { stdout } = await run(busybox, ['--list-full'], ctx);
  let applets = 0;
  for (const path of stdout.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const name = path.split('/').pop()!;
    if (SKIPPED_APPLETS.has(name) || path === 'bin/busybox' || manifest.has(path)) continue;
    manifest.addSymlink(path, '/bin/busybox');
    applets++;
  }
  return { applets };
}

export async function addKexec(manifest: Manifest, ctx: RunCtx = {}): Promise<void> {
  const kexec = requireProgram('kexec', 'kexec-tools');
  await addProgramWithLibraries(manifest, 'sbin/kexec', kexec, ctx);
}
