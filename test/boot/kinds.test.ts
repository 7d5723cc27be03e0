/**
 * Entry kinds booted in QEMU (issue 3, features 2-4): Xen, iscript (an entry's, and one typed
 * at GRUB), a kernel typed at GRUB, the shell entry, and the rescue menu after a failed
 * download. One preboot holds an entry per kind; each scenario picks its entry with ib.entry=
 * and adds what a person would type at GRUB's edit prompt. Keys are typed on the serial
 * console (bootAndWatch's `input`). Console logs: test-output/kinds/<scenario>.console.log.
 *
 * Xen is Debian's xen-hypervisor-4.17-amd64, fetched with `apt-get download` into inetboot's
 * cache and served gzip-compressed as shipped, so the preboot's decompression is exercised.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheDir } from '../../src/paths.js';
import { fetchDebianPackage } from '../../src/pipeline/preboot/kernel-package.js';
import { shQuote } from '../../src/quote.js';
import type { NginxServer } from '../helpers/nginx.js';
import { bootScenario, buildPreboot, type BuiltPreboot, serveTarget } from '../helpers/preboot.js';
import { TARGET_MARKER, sha256, targetLine, type TargetFiles } from '../helpers/target.js';
import { scaled } from '../helpers/timeouts.js';

const DIR = 'kinds';
const XEN_PACKAGE = 'xen-hypervisor-4.17-amd64';
const XEN_FILE = 'xen-4.17-amd64.gz';
const T = scaled(300_000);
let nginx: NginxServer;
let target: TargetFiles;
let preboot: BuiltPreboot;
let xenSha256: string;
const scriptSha: Record<string, string> = {};
const times: Record<string, number> = {};

const url = (file: string) => `${nginx.baseUrlForGuest}/${file}`;

/** The console lines starting with "inetboot: ", without carriage returns. */
function lines(log: string): string[] {
  return log.split('\n').map((l) => l.replace(/\r/g, '')).filter((l) => l.startsWith('inetboot: '));
}

/** An iscript served by nginx; returns its sha256. */
function writeScript(name: string, body: string): string {
  const text = `# iscript for test/boot/kinds.test.ts\n${body}`;
  writeFileSync(join(target.dir, name), text);
  return sha256(Buffer.from(text));
}

beforeAll(async () => {
  ({ target, nginx } = await serveTarget(DIR));
  const xenRoot = await fetchDebianPackage(XEN_PACKAGE, defaultCacheDir());
  copyFileSync(join(xenRoot, 'boot', XEN_FILE), join(target.dir, XEN_FILE));
  xenSha256 = sha256(readFileSync(join(target.dir, XEN_FILE)));
  const k = shQuote(url('vmlinuz'));
  const i = shQuote(url('target.img'));
  // Uses every helper: ib_say, ib_fetch (verified), ib_cmdline, ib_boot_kernel; IB_APPEND is the entry's append.
  scriptSha['boot.sh'] = writeScript(
    'boot.sh',
    `ib_say "iscript: fetching the target for entry $IB_ENTRY"
ib_fetch ${k} ${target.kernelSha256} "$IB_WORK/vmlinuz" || exit 1
ib_fetch ${i} ${target.initrdSha256} "$IB_WORK/initrd" || exit 1
ib_boot_kernel "$IB_WORK/vmlinuz" "$IB_WORK/initrd" "$IB_APPEND from-script=$(ib_cmdline ib.entry)"
`,
  );
  scriptSha['typed.sh'] = writeScript(
    'typed.sh',
    `ib_fetch ${k} "" "$IB_WORK/vmlinuz" || exit 1
ib_fetch ${i} "" "$IB_WORK/initrd" || exit 1
ib_boot_kernel "$IB_WORK/vmlinuz" "$IB_WORK/initrd" "console=ttyS0 typed=iscript"
`,
  );
  scriptSha['fails.sh'] = writeScript('fails.sh', 'ib_say "iscript: giving up on purpose"\nexit 3\n');
  preboot = await buildPreboot(DIR, {
    entries: [
      { id: 'plain', title: 'Target', kernel: { url: url('vmlinuz'), sha256: target.kernelSha256 }, initrd: { url: url('target.img'), sha256: target.initrdSha256 }, append: 'console=ttyS0 kind=plain' },
      { id: 'missing', title: 'Kernel that is not there', kernel: url('no-such-kernel'), initrd: url('target.img') },
      {
        id: 'xen',
        title: 'Target under Xen',
        hypervisor: { url: url(XEN_FILE), sha256: xenSha256 },
        hypervisor_append: 'console=com1 com1=115200 dom0_mem=256M',
        kernel: { url: url('vmlinuz'), sha256: target.kernelSha256 },
        initrd: { url: url('target.img'), sha256: target.initrdSha256 },
        append: 'console=hvc0 kind=xen',
      },
      { id: 'iscript', title: 'Target by iscript', iscript: { url: url('boot.sh'), sha256: scriptSha['boot.sh'] }, append: 'console=ttyS0 kind=iscript' },
      { id: 'fails', title: 'An iscript that fails', iscript: { url: url('fails.sh'), sha256: scriptSha['fails.sh'] } },
      { id: 'shell', title: 'Preboot shell', shell: true },
    ],
  });
}, scaled(900_000));

afterAll(async () => {
  await nginx?.stop();
  console.log(`boot times (s): ${Object.entries(times).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`).join(', ')}`);
});

describe('entry kinds (QEMU)', () => {
  it('xen: the gzip hypervisor is verified, decompressed and started; dom0 reaches the marker', async () => {
    const r = await bootScenario({ preboot, dir: DIR, name: 'xen', entry: 'xen', expect: TARGET_MARKER, failOn: ['Kernel panic', 'boot stopped', 'Panic on CPU'] });
    times.xen = r.elapsedMs;
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    const l = lines(r.log);
    expect(l).toContain(`inetboot: verified sha256 of ${url(XEN_FILE)} (${readFileSync(join(target.dir, XEN_FILE)).length} bytes)`);
    expect(l.find((x) => x.startsWith('inetboot: hypervisor: decompressed gzip: '))).toMatch(/^inetboot: hypervisor: decompressed gzip: \d+ -> \d+ bytes$/);
    expect(l).toContain('inetboot: loading Xen with command line: console=com1 com1=115200 dom0_mem=256M');
    expect(l).toContain('inetboot:   dom0 kernel command line: console=hvc0 kind=xen');
    expect(l.at(-1)).toBe('inetboot: starting Target under Xen');
    expect(r.log).toMatch(/Xen version 4\.17/);
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=hvc0 kind=xen');
  }, T);

  it('iscript entry: the script is verified, fetches with verification and boots the target', async () => {
    const r = await bootScenario({ preboot, dir: DIR, name: 'iscript', entry: 'iscript', expect: TARGET_MARKER, failOn: ['Kernel panic', 'boot stopped'] });
    times.iscript = r.elapsedMs;
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    const l = lines(r.log);
    expect(l).toContain(`inetboot: verified sha256 of ${url('boot.sh')} (${readFileSync(join(target.dir, 'boot.sh')).length} bytes)`);
    expect(l.find((x) => x.startsWith('inetboot: running the iscript'))).toMatch(/^inetboot: running the iscript \(\d+ bytes\)$/);
    expect(l).toContain('inetboot: iscript: fetching the target for entry iscript');
    expect(l).toContain(`inetboot: verified sha256 of ${url('vmlinuz')} (${readFileSync(join(target.dir, 'vmlinuz')).length} bytes)`);
    expect(l).toContain(`inetboot: verified sha256 of ${url('target.img')} (${readFileSync(join(target.dir, 'target.img')).length} bytes)`);
    expect(l.at(-1)).toBe('inetboot: starting Target by iscript');
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 kind=iscript from-script=iscript');
  }, T);

  it('iscript=URL typed at GRUB: runs instead of the entry, and says loudly it is unverified', async () => {
    const r = await bootScenario({
      preboot, dir: DIR, name: 'typed-iscript', entry: 'missing', extraCmdline: `iscript=${url('typed.sh')}`,
      expect: TARGET_MARKER, failOn: ['Kernel panic', 'boot stopped'],
    });
    times['typed-iscript'] = r.elapsedMs;
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    const l = lines(r.log);
    expect(l).toContain(`inetboot: iscript=${url('typed.sh')} was typed at GRUB: running it instead of an entry of the menu`);
    expect(l).toContain(
      `inetboot: WARNING: iscript=${url('typed.sh')} has no ib.iscript_sha256=: this script is NOT VERIFIED, and whoever can change it or the traffic to it controls this machine`,
    );
    expect(r.log).not.toContain('no-such-kernel');
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 typed=iscript');
  }, T);

  it('ib.kernel=/ib.initrd=/ib.append= typed at GRUB: boots them; the pinned kernel is verified, the initrd flagged unverified', async () => {
    const r = await bootScenario({
      preboot, dir: DIR, name: 'typed-kernel', entry: 'missing',
      extraCmdline: `ib.kernel=${url('vmlinuz')} ib.kernel_sha256=${target.kernelSha256} ib.initrd=${url('target.img')} ib.append="console=ttyS0 typed=kernel"`,
      expect: TARGET_MARKER, failOn: ['Kernel panic', 'boot stopped'],
    });
    times['typed-kernel'] = r.elapsedMs;
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    const l = lines(r.log);
    expect(l).toContain(`inetboot: ib.kernel=${url('vmlinuz')} was typed at GRUB: booting it instead of an entry of the menu`);
    expect(l).toContain(`inetboot: verified sha256 of ${url('vmlinuz')} (${readFileSync(join(target.dir, 'vmlinuz')).length} bytes)`);
    expect(l).toContain('inetboot: WARNING: no ib.initrd_sha256= typed: the initrd will NOT be verified');
    expect(l.at(-1)).toBe('inetboot: starting the kernel typed at GRUB');
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 typed=kernel');
  }, T);

  it('shell entry: a shell prompt on the serial console runs a command typed there', async () => {
    const r = await bootScenario({
      preboot, dir: DIR, name: 'shell', entry: 'shell', expect: 'SHELL-42', failOn: ['Kernel panic', 'boot stopped'],
      // $((6*7)): the echo of the typed line does not contain the expected text, only the shell's answer does.
      input: [{ when: 'preboot# ', send: 'echo SHELL-$((6*7)) $(type ib_fetch)\n' }],
    });
    times.shell = r.elapsedMs;
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(lines(r.log).find((x) => x.startsWith('inetboot: preboot shell on '))).toBe('inetboot: preboot shell on tty1 ttyS0: the network is up (eth0 10.0.2.15/24)');
    // The helpers of the iscript API are defined in the shell.
    expect(r.log).toMatch(/SHELL-42 ib_fetch is a function/);
  }, T);

  it('rescue menu after a failed download: "boot another entry" boots the target', async () => {
    const r = await bootScenario({
      preboot, dir: DIR, name: 'rescue', entry: 'missing', expect: TARGET_MARKER, failOn: ['Kernel panic'],
      input: [{ when: "open a shell (type 'exit' to come back to this menu)", send: '1\n' }],
    });
    times.rescue = r.elapsedMs;
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    const l = lines(r.log);
    const at = l.indexOf('inetboot: What now? Type a choice and press Enter:');
    expect(at, l.join('\n')).toBeGreaterThan(0);
    expect(l.slice(at - 2, at + 9)).toEqual([
      'inetboot: ERROR: could not get the kernel of entry missing',
      'inetboot: boot stopped. The lines above say why.',
      'inetboot: What now? Type a choice and press Enter:',
      'inetboot:   r  retry (entry missing)',
      'inetboot:   1  boot Target (plain)',
      'inetboot:   2  boot Kernel that is not there (missing)',
      'inetboot:   3  boot Target under Xen (xen)',
      'inetboot:   4  boot Target by iscript (iscript)',
      'inetboot:   5  boot An iscript that fails (fails)',
      'inetboot:   6  boot Preboot shell (shell)',
      "inetboot:   s  open a shell (type 'exit' to come back to this menu)",
    ]);
    expect(l[at + 9]).toBe('inetboot: entry plain: Target');
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 kind=plain');
  }, T);

  it('an iscript that exits without booting: PID 1 lives on and offers the rescue menu; retry runs it again', async () => {
    const r = await bootScenario({
      preboot, dir: DIR, name: 'iscript-fails', entry: 'fails', expect: 'SECOND-MENU', failOn: ['Kernel panic', 'Attempted to kill init'],
      input: [
        { when: "open a shell (type 'exit' to come back to this menu)", send: 'x\n' },
        { when: "'x' is not one of the choices", send: 'r\n' },
        { when: 'inetboot: retrying', send: '' },
        { when: "open a shell (type 'exit' to come back to this menu)", send: 's\n' },
        { when: 'preboot# ', send: 'echo SECOND-$(echo MENU)\n' },
      ],
    });
    times['iscript-fails'] = r.elapsedMs;
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    const l = lines(r.log);
    expect(l.filter((x) => x === 'inetboot: iscript: giving up on purpose')).toHaveLength(2);
    expect(l.filter((x) => x === 'inetboot: ERROR: the iscript ended (exit status 3) without starting a kernel')).toHaveLength(2);
    expect(l).toContain("inetboot: shell on ttyS0: type 'exit' to come back to the menu, 'reboot -f' to restart");
  }, T);
});
