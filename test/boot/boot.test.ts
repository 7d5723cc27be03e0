/**
 * End to end, in QEMU (TCG): a config written as in the README, extended with add-entry,
 * pointing at a real nginx on 127.0.0.1 (the guest's 10.0.2.2) -> build-iso -> boot on BIOS
 * and on UEFI -> GRUB -> preboot (DHCP, wget, sha256) -> kexec -> the target prints what it
 * saw. Every console log is kept under test-output/boot/.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/run.js';
import { bootAndWatch } from '../../src/qemu/boot.js';
import { cli } from '../helpers/cli.js';
import type { NginxServer } from '../helpers/nginx.js';
import { outputDir } from '../helpers/paths.js';
import { TARGET_MARKER, targetLine, type TargetFiles } from '../helpers/target.js';
import { serveTarget } from '../helpers/preboot.js';
import { scaled } from '../helpers/timeouts.js';

const BOOT_TIMEOUT_S = scaled(240);
const dir = outputDir('boot');
const APPEND = 'console=ttyS0 inetboot.test="two words" x=1 quiet';

let nginx: NginxServer;
let target: TargetFiles;
let iso: string;
let badIso: string;

async function smoke(isoPath: string, name: string, ...extra: string[]): Promise<{ code: number; log: string; stderr: string }> {
  const logFile = join(dir, `${name}.console.log`);
  const r = await cli('smoke', isoPath, '--timeout', String(BOOT_TIMEOUT_S), '--log', logFile, ...extra);
  return { code: r.code, stderr: r.stderr, log: readFileSync(logFile, 'utf8') };
}

beforeAll(async () => {
  ({ target, nginx } = await serveTarget('boot'));
  const url = (p: string) => `${nginx.baseUrlForGuest}/${p}`;

  // The config form of the README (section "Config"), then add-entry for a pinned entry.
  const cfg = join(dir, 'inetboot.yaml');
  writeFileSync(
    cfg,
    `timeout: 1          # seconds before the default entry boots
default: debian     # id of the entry booted after the timeout
serial: true        # menu, preboot console and messages also on ttyS0 at 115200
entries:
  - id: debian
    title: Debian 12 installer
    kernel: ${url('vmlinuz')}
    initrd: ${url('target.img')}
    append: console=ttyS0 priority=low
`,
  );
  const add = await cli(
    'add-entry', '-c', cfg, '--id', 'pinned', '--title', "Pinned target (it's verified)",
    '--kernel', url('vmlinuz'), '--kernel-sha256', target.kernelSha256,
    '--initrd', url('target.img'), '--initrd-sha256', target.initrdSha256,
    '--append', APPEND, '--default',
  );
  expect(add.code, add.stderr).toBe(0);
  expect(add.stderr).toContain('added entry "pinned"');
  iso = join(dir, 'pinned.iso');
  const built = await cli('build-iso', '-c', cfg, '-o', iso);
  expect(built.code, built.stderr).toBe(0);

  // The same, with a wrong pinned hash on the default entry.
  const badCfg = join(dir, 'bad-hash.yaml');
  writeFileSync(badCfg, readFileSync(cfg, 'utf8'));
  const addBad = await cli(
    'add-entry', '-c', badCfg, '--id', 'bad-hash', '--title', 'Wrong hash',
    '--kernel', url('vmlinuz'), '--kernel-sha256', '0'.repeat(64), '--initrd', url('target.img'), '--default',
  );
  expect(addBad.code, addBad.stderr).toBe(0);
  badIso = join(dir, 'bad-hash.iso');
  const builtBad = await cli('build-iso', '-c', badCfg, '-o', badIso);
  expect(builtBad.code, builtBad.stderr).toBe(0);
}, scaled(900_000));

afterAll(async () => {
  await nginx?.stop();
});

describe('boot from the ISO into a kernel served over HTTP', () => {
  for (const firmware of ['bios', 'uefi'] as const) {
    it(`${firmware}: GRUB -> preboot -> verified download -> kexec -> target with the configured command line`, async () => {
      const r = await smoke(iso, `pinned-${firmware}`, '--expect', TARGET_MARKER, '--fail-on', 'Kernel panic', ...(firmware === 'uefi' ? ['--uefi'] : []));
      expect(r.code, `${r.stderr}\nconsole log: ${dir}/pinned-${firmware}.console.log`).toBe(0);
      expect(r.log).toContain('inetboot: entry pinned: Pinned target');
      expect(r.log).toMatch(/inetboot: network: eth0 has address 10\.0\.2\.\d+/);
      expect(r.log).toContain(`inetboot: verified sha256 of ${nginx.baseUrlForGuest}/vmlinuz`);
      expect(r.log).toContain(`inetboot: verified sha256 of ${nginx.baseUrlForGuest}/target.img`);
      // The target received exactly the configured command line.
      expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe(APPEND);
      // ...and sees the firmware as if booted directly: ACPI on both, EFI runtime on UEFI.
      expect(Number(targetLine(r.log, 'TARGET-ACPI-TABLES'))).toBeGreaterThan(0);
      expect(targetLine(r.log, 'TARGET-EFI')).toBe(firmware === 'uefi' ? 'yes' : 'no');
    }, scaled(300_000));
  }

  it('bios: a wrong pinned sha256 stops the boot with a message and no kexec', async () => {
    const r = await smoke(badIso, 'bad-hash-bios', '--expect', 'boot stopped', '--fail-on', TARGET_MARKER);
    expect(r.code, r.stderr).toBe(0);
    expect(r.log).toContain(`inetboot: ERROR: sha256 mismatch for ${nginx.baseUrlForGuest}/vmlinuz`);
    expect(r.log).toContain(`inetboot:   expected ${'0'.repeat(64)}`);
    expect(r.log).toContain(`inetboot:   got      ${target.kernelSha256}`);
    expect(r.log).toContain('inetboot: ERROR: could not get the kernel of entry bad-hash');
    expect(r.log).not.toContain('loading kernel with command line');
    expect(r.log).not.toContain('TARGET-');
  }, scaled(300_000));

  it('bios: a cache disk from make-cache-disk that the BIOS tries first passes the boot on to the CD', async () => {
    // Issue of the field: the cache disk attached while booting from the CD, tried first by the
    // BIOS. mkfs.vfat's own boot code would stop there ("This is not a bootable disk ... press
    // any key"); make-cache-disk's hands the boot to the next device (src/pipeline/cache-disk.ts).
    const plain = join(dir, 'cache-first-plain.img');
    const made = join(dir, 'cache-first.img');
    rmSync(plain, { force: true });
    await run('mkfs.vfat', ['-C', plain, String(64 * 1024)]);
    expect((await cli('make-cache-disk', made, '--size', '64M', '--force')).code).toBe(0);
    const first = (img: string) => ['-drive', `if=none,id=cachefirst,format=raw,file=${img}`, '-device', 'virtio-blk-pci,drive=cachefirst,bootindex=0'];
    // mkfs.vfat's own code stops the boot on the disk (its message is on the screen, not the
    // serial console: the boot just never gets further). This proves the disk is tried first.
    const stuck = await bootAndWatch({ iso, isoBootIndex: 1, expect: TARGET_MARKER, timeoutMs: scaled(60_000), logFile: join(dir, 'cache-first-plain.console.log'), extraArgs: first(plain) });
    expect(stuck.reason, stuck.lastLines.join('\n')).toBe('timeout');
    expect(readFileSync(join(dir, 'cache-first-plain.console.log'), 'utf8')).not.toContain('inetboot:');
    const r = await bootAndWatch({ iso, isoBootIndex: 1, expect: TARGET_MARKER, failOn: ['Kernel panic'], timeoutMs: scaled(240_000), logFile: join(dir, 'cache-first.console.log'), extraArgs: first(made) });
    expect(r.ok, `${r.reason}\n${r.lastLines.join('\n')}`).toBe(true);
  }, scaled(600_000));

  it('the guest fetched the files from the test server', () => {
    const access = readFileSync(nginx.accessLog, 'utf8');
    expect(access).toMatch(/"GET \/vmlinuz HTTP\/1\.[01]" 200/);
    expect(access).toMatch(/"GET \/target\.img HTTP\/1\.[01]" 200/);
  });
});
