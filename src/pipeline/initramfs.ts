/**
 * The preboot initramfs: a manifest of the overlay (the init script), BusyBox, kexec, the
 * kernel's network modules and the entries' data, written as a deterministic gzip'd cpio.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { PREBOOT_OVERLAY } from '../paths.js';
import { Manifest } from './manifest.js';
import { addEntryData } from './preboot/entries.js';
import type { KernelTree } from './preboot/kernel-package.js';
import { addModules, allPrebootModules } from './preboot/modules.js';
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

export async function buildPrebootInitramfs(opts: { config: Config; kernel: KernelTree; workDir: string; logger?: Logger }): Promise<InitramfsResult> {
  const m = new Manifest();
  addSkeleton(m);
  addTree(m, PREBOOT_OVERLAY);
  await addBusybox(m, opts.logger);
  await addKexec(m);
  const { count } = await addModules(m, opts.kernel, allPrebootModules(), opts.workDir, opts.logger);
  addEntryData(m, opts.config);
  const cpio = m.toCpio();
  // Node's gzip writes mtime 0 and a fixed OS byte: the same archive gives the same bytes.
  const image = gzipSync(cpio, { level: 9 });
  return { image, files: m.paths().length, modules: count };
}
