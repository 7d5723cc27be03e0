/**
 * The target system the boot tests kexec into: Debian's kernel (the same package the preboot
 * uses, from inetboot's cache) and a marker initrd whose /init prints what the target saw
 * and then powers off:
 *   TARGET-CMDLINE: <the exact /proc/cmdline>
 *   TARGET-INIT-ARGS: <the arguments the kernel gave /init: the words after a "--">
 *   TARGET-ACPI-TABLES: <number of entries in /sys/firmware/acpi/tables>
 *   TARGET-EFI: yes|no   (EFI runtime visible in /sys/firmware/efi)
 *   TARGET-MARKER-OK     (printed last, so a smoke test can wait for it)
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Manifest } from '../../src/pipeline/manifest.js';
import { addSkeleton } from '../../src/pipeline/initramfs.js';
import { prepareKernelPackage } from '../../src/pipeline/preboot/kernel-package.js';
import { DEFAULT_KERNEL_PACKAGE } from '../../src/pipeline/build.js';
import { findProgram } from '../../src/exec/tools.js';
import { defaultCacheDir } from '../../src/paths.js';

export const TARGET_MARKER = 'TARGET-MARKER-OK';

const TARGET_INIT = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
IFS= read -r cmdline </proc/cmdline
echo "TARGET-CMDLINE: $cmdline"
echo "TARGET-INIT-ARGS: $*"
n=$(/bin/busybox ls /sys/firmware/acpi/tables 2>/dev/null | /bin/busybox wc -l)
echo "TARGET-ACPI-TABLES: $n"
if [ -d /sys/firmware/efi ]; then echo "TARGET-EFI: yes"; else echo "TARGET-EFI: no"; fi
echo "${TARGET_MARKER}"
/bin/busybox poweroff -f
`;

export function markerInitrd(): Buffer {
  const m = new Manifest();
  addSkeleton(m);
  m.addHostFile('bin/busybox', findProgram('busybox')!, 0o755);
  m.addFile('init', TARGET_INIT, 0o755);
  return gzipSync(m.toCpio());
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface TargetFiles {
  dir: string;
  kernelSha256: string;
  initrdSha256: string;
}

/** Writes vmlinuz and target.img into dir, for a test web server to serve. */
export async function writeTargetFiles(dir: string): Promise<TargetFiles> {
  mkdirSync(dir, { recursive: true });
  const kernel = await prepareKernelPackage(DEFAULT_KERNEL_PACKAGE, defaultCacheDir());
  copyFileSync(kernel.vmlinuz, join(dir, 'vmlinuz'));
  const initrd = markerInitrd();
  writeFileSync(join(dir, 'target.img'), initrd);
  return { dir, kernelSha256: sha256(readFileSync(join(dir, 'vmlinuz'))), initrdSha256: sha256(initrd) };
}

/** The value of a "KEY: value" line the target printed, or undefined. */
export function targetLine(log: string, key: string): string | undefined {
  const m = new RegExp(`^${key}: (.*?)\\r?$`, 'm').exec(log);
  return m?.[1];
}
