/**
 * Every external program inetboot runs, with the Debian package that provides it.
 * Commands check the tools they need before any long work (checkTools).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MissingToolError } from '../errors.js';

export const TOOL_PACKAGES: Record<string, string> = {
  'grub-mkrescue': 'grub-common',
  'grub-script-check': 'grub-common',
  xorriso: 'xorriso',
  mformat: 'mtools',
  busybox: 'busybox-static',
  kexec: 'kexec-tools',
  depmod: 'kmod',
  ldd: 'libc-bin',
  'dpkg-deb': 'dpkg',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'qemu-system-x86_64': 'qemu-system-x86',
  // The kernel-source and buildroot preboot backends.
  make: 'make',
  gcc: 'gcc',
  flex: 'flex',
  bison: 'bison',
  bc: 'bc',
  tar: 'tar',
  xz: 'xz-utils',
  nice: 'coreutils',
  mcopy: 'mtools',
  'mkfs.vfat': 'dosfstools',
  mmd: 'mtools',
  'mkfs.ext4': 'e2fsprogs',
  openssl: 'openssl',
  // The advisory lock around config edits (util-linux is Essential on Debian).
  flock: 'util-linux',
};

/** Files (not programs on PATH) that a command needs, with their package. */
export const FILE_PACKAGES: Record<string, string> = {
  '/usr/lib/grub/i386-pc/modinfo.sh': 'grub-pc-bin',
  '/usr/lib/grub/x86_64-efi/modinfo.sh': 'grub-efi-amd64-bin',
  '/usr/share/OVMF/OVMF_CODE_4M.fd': 'ovmf',
  '/usr/share/OVMF/OVMF_VARS_4M.fd': 'ovmf',
};

const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Finds a program on PATH (and in the sbin directories, which a non-root PATH may lack). */
export function findProgram(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of [...dirs, ...SBIN_DIRS]) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function exists(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

export interface ToolNeed {
  /** A program name from TOOL_PACKAGES, or an absolute file path from FILE_PACKAGES. */
  name: string;
  reason: string;
}

/** Throws one MissingToolError that lists every missing tool and the packages to install. */
export function checkTools(needs: ToolNeed[]): void {
  const missing = needs.filter((n) => (n.name.startsWith('/') ? !exists(n.name) : !findProgram(n.name)));
  if (missing.length === 0) return;
  throw new MissingToolError(
    missing.map((n) => ({
      name: n.name,
      pkg: (n.name.startsWith('/') ? FILE_PACKAGES[n.name] : TOOL_PACKAGES[n.name]) ?? 'unknown',
      reason: n.reason,
    })),
  );
}
