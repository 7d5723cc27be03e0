/**
 * build-iso with the real tools: grub-mkrescue, xorriso, depmod, apt-get download (Debian's
 * kernel package, cached), BusyBox and kexec from the host. Reads the ISO and the preboot
 * initramfs back instead of comparing bytes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNewc, type CpioReadEntry } from '../../src/pipeline/cpio.js';
import { PREBOOT_OVERLAY } from '../../src/paths.js';
import { cli } from '../helpers/cli.js';
import { isoBootReport, isoExtract, isoFileList } from '../helpers/iso.js';
import { outputDir, REPO_ROOT } from '../helpers/paths.js';
import { scaled } from '../helpers/timeouts.js';

const HASH = 'ab'.repeat(32);
const CONFIG = `# test config
timeout: 5          # seconds before the default entry boots
default: debian     # id of the entry booted after the timeout
serial: true        # menu, preboot console and messages also on ttyS0 at 115200
entries:
  - id: debian
    title: Debian 12 installer
    kernel: http://10.0.2.2:8080/linux
    initrd: http://10.0.2.2:8080/initrd.gz
    append: console=ttyS0 priority=low
  - id: pinned
    title: It's "pinned"
    kernel: {url: "http://10.0.2.2:8080/k", sha256: "${HASH}"}
`;

describe('build-iso (real grub-mkrescue, xorriso, Debian packages)', () => {
  const dir = outputDir('integration-build-iso');
  const cfg = join(dir, 'inetboot.yaml');
  const iso = join(dir, 'test.iso');
  let files: string[];
  let cpio: CpioReadEntry[];
  let byPath: Map<string, CpioReadEntry>;
  let prebootImg: Buffer;

  beforeAll(async () => {
    writeFileSync(cfg, CONFIG);
    const r = await cli('build-iso', '-c', cfg, '-o', iso);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(iso);
    files = await isoFileList(iso);
    prebootImg = await isoExtract(iso, '/boot/inetboot/preboot.img');
    cpio = readNewc(gunzipSync(prebootImg));
    byPath = new Map(cpio.map((e) => [e.path, e]));
  }, scaled(600_000));

  it('holds the GRUB config, the preboot kernel and the initramfs', () => {
    expect(files).toContain('/boot/grub/grub.cfg');
    expect(files).toContain('/boot/inetboot/vmlinuz');
    expect(files).toContain('/boot/inetboot/preboot.img');
    expect(files.some((f) => f.startsWith('/boot/grub/i386-pc/'))).toBe(true);
    expect(files.some((f) => f.startsWith('/boot/grub/x86_64-efi/'))).toBe(true);
  });

  it('is bootable on BIOS and on UEFI (El Torito catalog)', async () => {
    const report = await isoBootReport(iso);
    expect(report).toMatch(/El Torito boot img\s*:\s*1\s+BIOS/);
    expect(report).toMatch(/El Torito boot img\s*:\s*2\s+UEFI/);
  });

  it('carries a grub.cfg that is what `inetboot menu` prints and passes grub-script-check', async () => {
    const cfgText = (await isoExtract(iso, '/boot/grub/grub.cfg')).toString();
    const menu = await cli('menu', '-c', cfg);
    expect(menu.code).toBe(0);
    expect(cfgText).toBe(menu.stdout);
    const check = join(dir, 'grub.cfg');
    writeFileSync(check, cfgText);
    const r = await execa('grub-script-check', [check], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(cfgText).toContain('ib.entry=debian');
  });

  it('has a preboot initramfs with init, BusyBox, kexec and its libraries, and network modules', () => {
    const init = byPath.get('init');
    expect(init?.type).toBe('file');
    expect(init?.mode).toBe(0o755);
    expect(init?.data.equals(readFileSync(join(PREBOOT_OVERLAY, 'init')))).toBe(true);
    expect(byPath.get('etc/udhcpc/default.script')?.mode).toBe(0o755);
    expect(byPath.get('bin/busybox')?.type).toBe('file');
    expect(byPath.get('bin/sh')).toMatchObject({ type: 'symlink' });
    expect(byPath.get('bin/sh')?.data.toString()).toBe('/bin/busybox');
    for (const applet of ['usr/bin/wget', 'sbin/udhcpc', 'usr/bin/sha256sum', 'sbin/modprobe', 'usr/bin/timeout']) {
      expect(byPath.get(applet)?.type, applet).toBe('symlink');
    }
    expect(byPath.get('sbin/kexec')?.type).toBe('file');
    // The sha256 checker, compiled for this build (preboot-tools/inetboot-sha256.c).
    expect(byPath.get('sbin/inetboot-sha256')).toMatchObject({ type: 'file', mode: 0o755 });
    expect(cpio.some((e) => /^lib\/x86_64-linux-gnu\/libxenctrl\.so/.test(e.path))).toBe(true);
    expect(byPath.get('lib64/ld-linux-x86-64.so.2')?.type).toBe('file');
    expect(byPath.get('dev/console')).toMatchObject({ type: 'chardev', rdevmajor: 5, rdevminor: 1 });
    const dep = cpio.find((e) => /^lib\/modules\/[^/]+\/modules\.dep$/.test(e.path));
    expect(dep?.data.toString()).toMatch(/virtio_net\.ko: .*net_failover\.ko/);
    expect(cpio.find((e) => /modules\.alias$/.test(e.path))?.data.toString()).toMatch(/^alias pci:v00001AF4d\*sv\*sd\*bc\*sc\*i\* virtio_pci$/m);
    for (const m of ['virtio_pci.ko', 'e1000.ko', 'e1000e.ko', 'r8169.ko', '8139too.ko']) {
      expect(cpio.some((e) => e.path.endsWith('/' + m)), m).toBe(true);
    }
  });

  it('bakes each entry into data files, and GRUB passes only the entry id', () => {
    const text = (p: string) => byPath.get(`etc/inetboot/${p}`)?.data.toString();
    expect(text('entries/debian/kernel_url')).toBe('http://10.0.2.2:8080/linux');
    expect(text('entries/debian/initrd_url')).toBe('http://10.0.2.2:8080/initrd.gz');
    expect(text('entries/debian/append')).toBe('console=ttyS0 priority=low');
    expect(text('entries/pinned/title')).toBe('It\'s "pinned"');
    expect(text('entries/pinned/kernel_sha256')).toBe(HASH);
    expect(byPath.has('etc/inetboot/entries/pinned/initrd_url')).toBe(false);
    expect(text('default')).toBe('debian');
  });

  it('is read the same by GNU cpio', async () => {
    const r = await execa('cpio', ['-t', '--quiet'], { input: gunzipSync(prebootImg) });
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(cpio.map((e) => e.path).sort());
  });

  it('has an init and init libraries that BusyBox sh parses, all inside the initramfs', async () => {
    const scripts = ['init', ...readdirSync(join(PREBOOT_OVERLAY, 'lib/inetboot')).map((f) => `lib/inetboot/${f}`)];
    expect(scripts.length).toBeGreaterThan(1);
    for (const s of scripts) {
      const r = await execa('busybox', ['sh', '-n', join(PREBOOT_OVERLAY, s)], { reject: false });
      expect(r.stderr, s).toBe('');
      expect(r.exitCode, s).toBe(0);
      expect(byPath.get(s)?.data.equals(readFileSync(join(PREBOOT_OVERLAY, s))), s).toBe(true);
    }
  });

  it('builds the same initramfs bytes again from the same inputs; --json says what it built, on stdout alone', async () => {
    const iso2 = join(dir, 'again.iso');
    const r = await cli('build-iso', '-c', cfg, '-o', iso2, '--json');
    expect(r.code).toBe(0);
    expect((await isoExtract(iso2, '/boot/inetboot/preboot.img')).equals(prebootImg)).toBe(true);
    const built = JSON.parse(r.stdout);
    expect(built).toEqual({
      output: iso2,
      kind: 'iso',
      bytes: statSync(iso2).size,
      sha256: createHash('sha256').update(readFileSync(iso2)).digest('hex'),
      cache_partition: null,
      preboot: { backend: 'debian', description: expect.stringContaining('Debian'), kernel_bytes: (await isoExtract(iso2, '/boot/inetboot/vmlinuz')).length, initramfs_bytes: prebootImg.length },
      entries: [{ id: 'debian', title: 'Debian 12 installer' }, { id: 'pinned', title: `It's "pinned"` }],
      default: 'debian',
      workdir: null,
    });
  }, scaled(300_000));

  it('build-preboot --json: the same preboot as the ISO holds, its paths and sizes in one JSON object', async () => {
    const out = join(dir, 'preboot-json');
    const r = await cli('build-preboot', '-c', cfg, '-o', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const built = JSON.parse(r.stdout);
    expect(built).toEqual({
      kernel: join(out, 'vmlinuz'),
      initramfs: join(out, 'preboot.img'),
      backend: 'debian',
      description: expect.stringContaining('Debian'),
      kernel_bytes: statSync(join(out, 'vmlinuz')).size,
      initramfs_bytes: prebootImg.length,
    });
    expect(readFileSync(built.initramfs).equals(prebootImg)).toBe(true);
  }, scaled(300_000));

  it('refuses an output that is a directory or a device before building anything (exit 2)', async () => {
    const blocked = join(dir, 'blocked.iso');
    mkdirSync(join(blocked, 'keep'), { recursive: true });
    const r = await cli('build-iso', '-c', cfg, '-o', blocked);
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: `inetboot: error: -o ${blocked} is a directory: name the file to write, e.g. ${join(blocked, 'inetboot.iso')}\n`,
    });
    expect(existsSync(join(blocked, 'keep'))).toBe(true);

    // A character device that every machine has; as root, /dev/sdb would be the same case.
    const dev = await cli('build-iso', '-c', cfg, '-o', '/dev/null');
    expect(dev.code).toBe(2);
    expect(dev.stderr).toBe(
      'inetboot: error: -o /dev/null is a character device: inetboot writes files, never devices (that would replace the device node); write a file, then copy it with: dd if=FILE of=/dev/null bs=4M conv=fsync\n',
    );
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('names every missing tool and its Debian package before any work', async () => {
    const empty = join(dir, 'empty-path');
    mkdirSync(empty, { recursive: true });
    const r = await execa(process.execPath, [join(REPO_ROOT, 'bin/inetboot.js'), 'build-iso', '-c', cfg, '-o', join(dir, 'never.iso')], {
      reject: false,
      env: { PATH: empty, HOME: process.env.HOME },
      extendEnv: false,
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('grub-mkrescue (Debian package grub-common)');
    expect(r.stderr).toContain('xorriso (Debian package xorriso)');
    expect(r.stderr).toContain('hint: install them: apt-get install');
    expect(existsSync(join(dir, 'never.iso'))).toBe(false);
  });
});
