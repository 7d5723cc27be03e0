/**
 * Every external program (and firmware file) inetboot uses, in one table: the Debian package
 * that provides it and what inetboot uses it for. Commands check the tools they need before
 * any long work (checkTools), and a missing one is named with its package.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MissingToolError } from '../errors.js';

interface Tool {
  pkg: string;
  /** What inetboot uses it for, in the words of a missing-tool message. */
  does: string;
}

/**
 * Programs (found on PATH and in the sbin directories) and files (absolute paths): the name, the
 * Debian package, and what inetboot uses it for, in the words of a missing-tool message.
 */
const TABLE = `
grub-mkrescue                        grub-common         lays out the bootable ISO
grub-script-check                    grub-common         checks a grub.cfg with GRUB's own parser
xorriso                              xorriso             writes the ISO for grub-mkrescue
mformat                              mtools              makes FAT images (the UEFI boot image of the ISO)
mcopy                                mtools              copies GRUB into the right-sized UEFI boot image
mmd                                  mtools              makes the inetboot-cache/ folder in a FAT image without mounting it
mkfs.vfat                            dosfstools          makes the FAT file system of a cache disk
mkfs.ext4                            e2fsprogs           makes the ext4 file system of a cache disk
busybox                              busybox-static      the preboot's shell, wget, udhcpc and friends
kexec                                kexec-tools         starts the downloaded kernel from the preboot
depmod                               kmod                computes the preboot's modules.dep
ldd                                  libc-bin            finds the libraries of the programs copied into the preboot
gcc                                  gcc                 compiles the preboot's sha256 checker (preboot-tools/), the preboot kernel, or Buildroot's host tools
/usr/lib/x86_64-linux-gnu/libcrypto.a libssl-dev         OpenSSL's SHA-256, linked into the preboot's sha256 checker
openssl                              openssl             checks HTTPS certificates in the preboot (copied into it)
dpkg-deb                             dpkg                unpacks Debian packages (kernel, BusyBox) without installing them
apt-get                              apt                 downloads Debian packages (kernel, BusyBox) without installing them
apt-cache                            apt                 finds the version of those packages
qemu-system-x86_64                   qemu-system-x86     boots the ISO
flock                                util-linux          locks the config while it is edited
mksquashfs                           squashfs-tools      makes the image of a published root
pkg-config                           pkg-config          finds the libraries the block daemon is built against
sync                                 coreutils           makes a published tree durable before its manifest is written
# the kernel-source and buildroot preboot backends
make                                 make                builds the preboot kernel, or runs Buildroot
flex                                 flex                the kernel's Kconfig parser
bison                                bison               the kernel's Kconfig parser
bc                                   bc                  the kernel build computes constants with bc
tar                                  tar                 unpacks the kernel source tarball
xz                                   xz-utils            compresses the kernel and the initramfs of the tiny preboot
nice                                 coreutils           keeps long builds at a low priority
/usr/include/gelf.h                  libelf-dev          libelf's headers, for the kernel's objtool (kernel-source backend)
/usr/lib/grub/i386-pc/modinfo.sh     grub-pc-bin         GRUB for BIOS machines
/usr/lib/grub/x86_64-efi/modinfo.sh  grub-efi-amd64-bin  GRUB for UEFI machines
/usr/share/OVMF/OVMF_CODE_4M.fd      ovmf                UEFI firmware for --uefi
/usr/share/OVMF/OVMF_VARS_4M.fd      ovmf                UEFI variable store for --uefi
`;

export const TOOLS: Record<string, Tool> = Object.fromEntries(
  TABLE.split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const [name = '', pkg = '', ...does] = line.trim().split(/\s+/);
      return [name, { pkg, does: does.join(' ') }];
    }),
);

/** The Debian package of a program or file, for messages. */
export function packageOf(name: string): string | undefined {
  return TOOLS[name]?.pkg ?? TOOLS[name.split('/').pop() ?? name]?.pkg;
}

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

/** How tools are looked for: the machine's PATH and files, or a fake one in tests. */
export interface ToolLookup {
  program(name: string): string | undefined;
  /** True when the file (an absolute path of TOOLS) is there and readable. */
  file(path: string): boolean;
}

export function hostLookup(env: NodeJS.ProcessEnv = process.env): ToolLookup {
  return { program: (name) => findProgram(name, env), file: exists };
}

/** Where a program or file of TOOLS is on this machine, or undefined when it is missing. */
export function locate(name: string, lookup: ToolLookup = hostLookup()): string | undefined {
  if (!name.startsWith('/')) return lookup.program(name);
  return lookup.file(name) ? name : undefined;
}

export interface ToolNeed {
  /** A program name, or an absolute file path, of TOOLS. */
  name: string;
  reason: string;
}

/** The needs of a step, by name, with the reasons of the table. */
export function needs(...names: string[]): ToolNeed[] {
  return names.map((name) => {
    const t = TOOLS[name];
    if (!t) throw new Error(`internal: ${name} is not in the table of tools (src/exec/tools.ts)`);
    return { name, reason: t.does };
  });
}

/** The needs of several steps, each tool once (the first one's reason). */
export function joinNeeds(...lists: ToolNeed[][]): ToolNeed[] {
  const seen = new Set<string>();
  return lists.flat().filter((n) => !seen.has(n.name) && (seen.add(n.name), true));
}

/** Throws one MissingToolError that lists every missing tool and the packages to install. */
export function checkTools(list: ToolNeed[]): void {
  const missing = list.filter((n) => locate(n.name) === undefined);
  if (missing.length === 0) return;
  throw new MissingToolError(missing.map((n) => ({ name: n.name, pkg: packageOf(n.name) ?? 'unknown', reason: n.reason })));
}
