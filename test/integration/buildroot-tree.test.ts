/**
 * buildroot-overlay/ is a BR2_EXTERNAL tree (Buildroot manual, "Keeping customizations outside
 * of Buildroot"). Buildroot's sources cannot be downloaded in CI, so this checks the tree's
 * structure and the defconfig keys the preboot depends on, and runs post-build.sh for real.
 *
 * With INETBOOT_BUILDROOT_DIR=/path/to/buildroot set, it also runs Buildroot's configuration
 * step (`make BR2_EXTERNAL=... O=... inetboot_x86_64_defconfig`, no downloads needed) and
 * checks the resulting .config.
 */
import { accessSync, constants, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, outputDir } from '../helpers/paths.js';
import { scaled } from '../helpers/timeouts.js';

const TREE = join(REPO_ROOT, 'buildroot-overlay');
const BOARD = join(TREE, 'board', 'inetboot');
const DEFCONFIG = join(TREE, 'configs', 'inetboot_x86_64_defconfig');
const read = (p: string) => readFileSync(p, 'utf8');

/** KEY=value lines of a Kconfig-style file ("# X is not set" lines are left out). */
function kconfigValues(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const hit = /^(BR2_[A-Za-z0-9_]+|CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (hit) m.set(hit[1]!, hit[2]!);
  }
  return m;
}

/** What the preboot needs from Buildroot, and why (the Buildroot option's value as written). */
const REQUIRED_DEFCONFIG: Record<string, string> = {
  BR2_x86_64: 'y',
  BR2_INIT_NONE: 'y', // the overlay's /init is PID 1
  BR2_LINUX_KERNEL: 'y',
  BR2_LINUX_KERNEL_BZIMAGE: 'y',
  BR2_LINUX_KERNEL_USE_CUSTOM_CONFIG: 'y',
  BR2_LINUX_KERNEL_CUSTOM_CONFIG_FILE: '"$(BR2_EXTERNAL_INETBOOT_PATH)/board/inetboot/linux-tiny.defconfig"',
  BR2_LINUX_KERNEL_CONFIG_FRAGMENT_FILES: '"$(BR2_EXTERNAL_INETBOOT_PATH)/board/inetboot/linux.config"',
  BR2_LINUX_KERNEL_XZ: 'y', // Buildroot forces the kernel's compression from this option
  BR2_PACKAGE_BUSYBOX: 'y',
  BR2_PACKAGE_BUSYBOX_CONFIG_FRAGMENT_FILES: '"$(BR2_EXTERNAL_INETBOOT_PATH)/board/inetboot/busybox.config"',
  BR2_PACKAGE_KEXEC: 'y',
  BR2_ROOTFS_OVERLAY: '"$(BR2_EXTERNAL_INETBOOT_PATH)/board/inetboot/rootfs_overlay"',
  BR2_ROOTFS_POST_BUILD_SCRIPT: '"$(BR2_EXTERNAL_INETBOOT_PATH)/board/inetboot/post-build.sh"',
  BR2_TARGET_ROOTFS_CPIO: 'y',
  BR2_TARGET_ROOTFS_CPIO_XZ: 'y',
};

/** The tiny profile (issue 4): what the kernel fragment must build in. */
const REQUIRED_KERNEL = [
  'CONFIG_64BIT', 'CONFIG_SERIAL_8250_CONSOLE', 'CONFIG_BLK_DEV_INITRD', 'CONFIG_RD_GZIP', 'CONFIG_RD_XZ',
  'CONFIG_DEVTMPFS', 'CONFIG_PCI', 'CONFIG_VIRTIO_PCI', 'CONFIG_VIRTIO_NET', 'CONFIG_E1000', 'CONFIG_E1000E',
  'CONFIG_R8169', 'CONFIG_8139TOO', 'CONFIG_NE2K_PCI', 'CONFIG_USB_USBNET', 'CONFIG_USB_NET_CDCETHER',
  'CONFIG_USB_RTL8152', 'CONFIG_USB_NET_AX88179_178A', 'CONFIG_USB_STORAGE', 'CONFIG_VFAT_FS', 'CONFIG_EXT4_FS',
  'CONFIG_KEXEC', 'CONFIG_KEXEC_FILE', 'CONFIG_EFI', 'CONFIG_EFI_STUB', 'CONFIG_ACPI', 'CONFIG_PACKET', 'CONFIG_INET',
];

describe('buildroot-overlay is a BR2_EXTERNAL tree', () => {
  it('has every file Buildroot requires of an external tree, and the board files', () => {
    for (const f of ['external.desc', 'Config.in', 'external.mk', 'configs/inetboot_x86_64_defconfig',
      'board/inetboot/linux.config', 'board/inetboot/linux-tiny.defconfig', 'board/inetboot/busybox.config',
      'board/inetboot/post-build.sh', 'board/inetboot/rootfs_overlay/init', 'board/inetboot/rootfs_overlay/etc/udhcpc/default.script']) {
      expect(existsSync(join(TREE, f)), f).toBe(true);
    }
    for (const f of ['board/inetboot/post-build.sh', 'board/inetboot/rootfs_overlay/init']) {
      expect(() => accessSync(join(TREE, f), constants.X_OK), `${f} must be executable`).not.toThrow();
    }
  });

  it('external.desc names the tree INETBOOT (so $BR2_EXTERNAL_INETBOOT_PATH exists) and describes it', () => {
    const desc = read(join(TREE, 'external.desc'));
    expect(desc).toMatch(/^name: INETBOOT$/m);
    expect(desc).toMatch(/^desc: \S.+$/m);
  });

  it('Config.in sources each package Config.in and external.mk includes each package makefile', () => {
    const configIn = read(join(TREE, 'Config.in'));
    const externalMk = read(join(TREE, 'external.mk'));
    expect(externalMk).toContain('include $(sort $(wildcard $(BR2_EXTERNAL_INETBOOT_PATH)/package/*/*.mk))');
    const packages = existsSync(join(TREE, 'package')) ? readdirSync(join(TREE, 'package')).filter((d) => statSync(join(TREE, 'package', d)).isDirectory()) : [];
    // Every source line names a package that exists, and every package is sourced.
    const sourced = [...configIn.matchAll(/^\s*source "\$BR2_EXTERNAL_INETBOOT_PATH\/package\/([^/]+)\/Config\.in"$/gm)].map((m) => m[1]);
    expect(sourced.sort()).toEqual([...packages].sort());
    for (const pkg of packages) {
      const upper = pkg.toUpperCase().replace(/-/g, '_');
      // Buildroot derives the variable prefix and the option name from the directory name.
      expect(read(join(TREE, 'package', pkg, 'Config.in'))).toMatch(new RegExp(`^config BR2_PACKAGE_${upper}$`, 'm'));
      const mk = read(join(TREE, 'package', pkg, `${pkg}.mk`));
      expect(mk).toMatch(new RegExp(`^${upper}_VERSION = `, 'm'));
      expect(mk).toContain('$(eval $(generic-package))');
    }
  });

  it('installs nothing the preboot does not read: no CA bundle package (inetboot appends the bundle; the backend refuses https)', () => {
    expect(existsSync(join(TREE, 'package', 'inetboot-ca-bundle'))).toBe(false);
    expect(read(DEFCONFIG)).not.toMatch(/INETBOOT_CA_BUNDLE/);
  });

  it('the defconfig sets every key the preboot depends on', () => {
    const values = kconfigValues(read(DEFCONFIG));
    for (const [key, value] of Object.entries(REQUIRED_DEFCONFIG)) expect(values.get(key), key).toBe(value);
    expect(values.get('BR2_LINUX_KERNEL_CUSTOM_VERSION_VALUE')).toMatch(/^"6\.1\.\d+"$/);
  });

  it('every $(BR2_EXTERNAL_INETBOOT_PATH)/... path in the defconfig exists', () => {
    const paths = [...read(DEFCONFIG).matchAll(/\$\(BR2_EXTERNAL_INETBOOT_PATH\)\/([^"\s]+)/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThanOrEqual(5);
    for (const p of paths) expect(existsSync(join(TREE, p)), p).toBe(true);
  });

  it('the kernel fragment builds in the tiny profile', () => {
    const values = kconfigValues(read(join(BOARD, 'linux.config')));
    for (const sym of REQUIRED_KERNEL) expect(values.get(sym), sym).toBe('y');
    // No modules: every driver is built in, and the initramfs carries none.
    expect(values.has('CONFIG_MODULES')).toBe(false);
    expect([...values.values()].filter((v) => v === 'm')).toEqual([]);
  });

  it('the BusyBox fragment enables the applets the init runs', () => {
    const values = kconfigValues(read(join(BOARD, 'busybox.config')));
    for (const sym of ['CONFIG_UDHCPC', 'CONFIG_WGET', 'CONFIG_IP', 'CONFIG_SHA256SUM', 'CONFIG_TIMEOUT', 'CONFIG_AWK', 'CONFIG_SETSID', 'CONFIG_MOUNT', 'CONFIG_MKFIFO']) {
      expect(values.get(sym), sym).toBe('y');
    }
  });
});

describe('post-build.sh', () => {
  const target = () => {
    const dir = mkdtempSync(join(tmpdir(), 'inetboot-br-target-'));
    cpSync(join(BOARD, 'rootfs_overlay'), dir, { recursive: true });
    return dir;
  };

  it('accepts a target directory holding the overlay', async () => {
    const dir = target();
    try {
      const r = await execa('sh', [join(BOARD, 'post-build.sh'), dir], { reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(existsSync(join(dir, 'etc', 'inetboot'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the libraries from the same list as /init (lib/inetboot/libs)', async () => {
    const dir = target();
    try {
      writeFileSync(join(dir, 'lib', 'inetboot', 'libs'), 'common\nnot-a-library\n');
      const r = await execa('sh', [join(BOARD, 'post-build.sh'), dir], { reject: false });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toBe('post-build.sh: /init sources lib/inetboot/not-a-library.sh, which is not in the image');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails the build when a library the init sources is missing', async () => {
    const dir = target();
    try {
      rmSync(join(dir, 'lib', 'inetboot', 'net.sh'));
      const r = await execa('sh', [join(BOARD, 'post-build.sh'), dir], { reject: false });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toBe('post-build.sh: /init sources lib/inetboot/net.sh, which is not in the image');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails the build when the overlay (and its /init) is not in the image', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inetboot-br-target-'));
    try {
      const r = await execa('sh', [join(BOARD, 'post-build.sh'), dir], { reject: false });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('/init is missing: BR2_ROOTFS_OVERLAY must name board/inetboot/rootfs_overlay');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const BUILDROOT = process.env.INETBOOT_BUILDROOT_DIR;

describe.skipIf(!BUILDROOT)('Buildroot configuration step (INETBOOT_BUILDROOT_DIR)', () => {
  it('make BR2_EXTERNAL=... O=... inetboot_x86_64_defconfig succeeds and keeps the keys', async () => {
    const out = join(outputDir('buildroot-tree'), 'output');
    rmSync(out, { recursive: true, force: true });
    const r = await execa('make', ['-C', BUILDROOT!, `BR2_EXTERNAL=${TREE}`, `O=${out}`, 'inetboot_x86_64_defconfig'], { reject: false, all: true });
    expect(r.exitCode, r.all).toBe(0);
    const values = kconfigValues(read(join(out, '.config')));
    for (const [key, value] of Object.entries(REQUIRED_DEFCONFIG)) expect(values.get(key), key).toBe(value);
    expect(values.get('BR2_EXTERNAL_INETBOOT_PATH')).toBe(`"${TREE.replace(/\/$/, '')}"`);
  }, scaled(120_000));
});
