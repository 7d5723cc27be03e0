/**
 * The tiny profile, end to end: build-iso with the kernel-source backend (a tinyconfig kernel
 * from Debian's linux-source-6.1 with every driver built in, an xz initramfs without modules)
 * -> the size targets -> boot on BIOS and UEFI -> GRUB -> preboot -> kexec -> the target,
 * which must see ACPI (both) and the EFI runtime (UEFI): a preboot kernel without CONFIG_EFI
 * leaves a target on UEFI without ACPI (measured: its `poweroff` ended in "System halted" and
 * QEMU never exited).
 *
 * The kernel is cached in the usual cache (~/.cache/inetboot/kernel-source/) outside the clone;
 * on a clean machine the first build-iso builds it (about 5 minutes on 2 cores, more while
 * other emulators run). Console logs are kept under test-output/tiny/.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { isoBootReport, isoExtract } from '../helpers/iso.js';
import type { NginxServer } from '../helpers/nginx.js';
import { outputDir } from '../helpers/paths.js';
import { TARGET_MARKER, targetLine, type TargetFiles } from '../helpers/target.js';
import { serveTarget } from '../helpers/preboot.js';
import { scaled } from '../helpers/timeouts.js';
import { ISO_PATHS } from '../../src/pipeline/iso.js';
import { DEBIAN_KERNEL_SOURCE } from '../../src/pipeline/preboot/kernel-source.js';

const BOOT_TIMEOUT_S = scaled(240);
const dir = outputDir('tiny');
const APPEND = 'console=ttyS0 tiny.test="two words" quiet';

/** The size targets of the tiny profile (issue 4), in bytes. */
const MAX_KERNEL = 2_500_000;
const MAX_INITRAMFS = 1_500_000;
const MAX_ISO = 5_400_000;

let nginx: NginxServer;
let target: TargetFiles;
let cfg: string;
let iso: string;
let firstBuild: { code: number; stderr: string };

beforeAll(async () => {
  ({ target, nginx } = await serveTarget('tiny'));
  const url = (p: string) => `${nginx.baseUrlForGuest}/${p}`;
  cfg = join(dir, 'inetboot.yaml');
  writeFileSync(
    cfg,
    `timeout: 1
preboot:
  backend: kernel-source
  kernel_source: ${DEBIAN_KERNEL_SOURCE}
entries:
  - id: tiny
    title: Tiny preboot target
    kernel: {url: ${url('vmlinuz')}, sha256: "${target.kernelSha256}"}
    initrd: {url: ${url('target.img')}, sha256: "${target.initrdSha256}"}
    append: ${APPEND}
`,
  );
  iso = join(dir, 'tiny.iso');
  firstBuild = await cli('build-iso', '-c', cfg, '-o', iso);
  writeFileSync(join(dir, 'build-iso.log'), firstBuild.stderr);
  expect(firstBuild.code, firstBuild.stderr).toBe(0);
}, scaled(2_400_000));

afterAll(async () => {
  await nginx?.stop();
});

describe('tiny profile: kernel-source backend', () => {
  it('meets the size targets: kernel <= 2.5 MB, initramfs <= 1.5 MB, ISO <= 5.4 MB', async () => {
    const kernel = await isoExtract(iso, `/${ISO_PATHS.kernel}`);
    const initramfs = await isoExtract(iso, `/${ISO_PATHS.initrd}`);
    const isoBytes = readFileSync(iso).length;
    writeFileSync(join(dir, 'sizes.txt'), `kernel ${kernel.length}\ninitramfs ${initramfs.length}\niso ${isoBytes}\n`);
    expect(kernel.length).toBeLessThanOrEqual(MAX_KERNEL);
    expect(initramfs.length).toBeLessThanOrEqual(MAX_INITRAMFS);
    expect(isoBytes).toBeLessThanOrEqual(MAX_ISO);
  });

  it("the UEFI boot image is sized to GRUB's files, not grub-mkrescue's 2.88 MB floppy", async () => {
    const report = await isoBootReport(iso);
    // "El Torito boot img :   2  UEFI  y   none  0x0000  0x00    576   40": the size in 512-byte sectors.
    const m = /El Torito boot img :\s+\d+\s+UEFI\s+y\s+\S+\s+\S+\s+\S+\s+(\d+)/.exec(report);
    expect(m, report).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(2048);
  });

  it('the initramfs is xz with a CRC32 check and carries no modules', async () => {
    const initramfs = await isoExtract(iso, `/${ISO_PATHS.initrd}`);
    // xz stream header: magic, then flags 00 01 = CRC32 (the kernel's decoder refuses CRC64).
    expect(initramfs.subarray(0, 8).toString('hex')).toBe('fd377a585a000001');
    const list = execFileSync('sh', ['-c', 'xz -dc | cpio -it --quiet'], { input: initramfs }).toString().split('\n');
    expect(list).toContain('init');
    expect(list).toContain('bin/busybox');
    expect(list).toContain('sbin/kexec');
    expect(list).toContain('sbin/inetboot-sha256');
    expect(list).toContain('etc/inetboot/entries/tiny/kernel_url');
    expect(list.filter((p) => p.startsWith('lib/modules'))).toEqual([]);
  });

  it('a second build-iso reuses the cached kernel', async () => {
    const again = await cli('build-iso', '-c', cfg, '-o', join(dir, 'tiny-again.iso'));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('preboot kernel: reusing the build in');
    expect(again.stderr).not.toContain('building the kernel');
  });

  for (const firmware of ['bios', 'uefi'] as const) {
    it(`${firmware}: GRUB -> tiny preboot -> verified download -> kexec -> target with ACPI${firmware === 'uefi' ? ' and EFI' : ''}`, async () => {
      const logFile = join(dir, `tiny-${firmware}.console.log`);
      const r = await cli('smoke', iso, '--timeout', String(BOOT_TIMEOUT_S), '--log', logFile, '--expect', TARGET_MARKER, '--fail-on', 'Kernel panic', ...(firmware === 'uefi' ? ['--uefi'] : []));
      const log = readFileSync(logFile, 'utf8');
      expect(r.code, `${r.stderr}\nconsole log: ${logFile}`).toBe(0);
      expect(log).toContain('inetboot: entry tiny: Tiny preboot target');
      expect(log).toMatch(/inetboot: network: eth0 has address 10\.0\.2\.\d+/);
      expect(log).toContain(`inetboot: verified sha256 of ${nginx.baseUrlForGuest}/vmlinuz`);
      expect(targetLine(log, 'TARGET-CMDLINE')).toBe(APPEND);
      expect(Number(targetLine(log, 'TARGET-ACPI-TABLES'))).toBeGreaterThan(0);
      expect(targetLine(log, 'TARGET-EFI')).toBe(firmware === 'uefi' ? 'yes' : 'no');
    }, scaled(300_000));
  }
});
