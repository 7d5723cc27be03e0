/**
 * What `inetboot publish` accepts as ROOTDIR: a directory holding a Linux root file system with
 * its kernel and modules, as `debootstrap --include=linux-image-amd64,systemd-sysv` makes it:
 *   boot/vmlinuz-RELEASE       exactly one kernel
 *   lib/modules/RELEASE/       its modules, with the modules.dep depmod made at install
 *   sbin/init                  what the miniroot starts after switch_root
 * Anything else is refused with what is missing.
 */
import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import type { KernelTree } from '../preboot/kernel-package.js';

export function checkRootDir(root: string): KernelTree {
  let st;
  try {
    st = statSync(root);
  } catch {
    throw new UsageError(`${root} does not exist: name the directory of a root file system (e.g. one made by debootstrap)`);
  }
  if (!st.isDirectory()) throw new UsageError(`${root} is not a directory: name the directory of a root file system (e.g. one made by debootstrap)`);
  const boot = join(root, 'boot');
  const kernels = existsSync(boot) ? readdirSync(boot).filter((f) => /^vmlinuz-.+/.test(f)).sort() : [];
  const hint = 'a root made with debootstrap --include=linux-image-amd64,systemd-sysv has them';
  if (kernels.length === 0) throw new UsageError(`${root} has no kernel (no boot/vmlinuz-*): it must hold the kernel it boots; ${hint}`);
  if (kernels.length > 1) {
    throw new UsageError(`${root} has ${kernels.length} kernels (${kernels.map((k) => `boot/${k}`).join(', ')}): remove all but the one to boot`);
  }
  const release = kernels[0]!.slice('vmlinuz-'.length);
  const modulesDir = join(root, 'lib', 'modules', release);
  if (!existsSync(modulesDir)) throw new UsageError(`${root} has boot/${kernels[0]} but no lib/modules/${release}/: the kernel's modules are missing; ${hint}`);
  for (const f of ['modules.dep', 'modules.builtin']) {
    if (!existsSync(join(modulesDir, f))) throw new UsageError(`${root}: lib/modules/${release}/${f} is missing: run "depmod -b ${root} ${release}"`);
  }
  // sbin/init is often a symlink (to ../lib/systemd/systemd), perhaps absolute: lstat is enough.
  const init = join(root, 'sbin', 'init');
  let hasInit = false;
  try {
    hasInit = lstatSync(init) !== undefined;
  } catch {
    hasInit = false;
  }
  if (!hasInit) throw new UsageError(`${root} has no sbin/init: the miniroot starts it after switching to the root; install an init (systemd-sysv)`);
  return { pkg: root, version: release, release, root, vmlinuz: join(boot, kernels[0]!), modulesDir };
}
