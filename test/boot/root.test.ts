/**
 * A real Debian 12 root over HTTP, end to end in QEMU (TCG): debootstrap (test/helpers/
 * debian-root.ts) -> `inetboot publish` -> nginx on 127.0.0.1 (the guest's 10.0.2.2) ->
 * `inetboot add-entry --root` -> `inetboot build-iso` -> GRUB -> preboot (DHCP, manifest,
 * kernel and miniroot verified) -> kexec -> miniroot (network taken over, block daemon,
 * squashfs over FUSE, overlay) -> systemd -> `login:` on ttyS0. The test then logs in as root
 * (the test root has an empty root password) and reads /proc/mounts.
 *
 * Booted on BIOS, on UEFI, and with less RAM than the image. Console logs and what nginx served
 * (access.log, and report.json with bytes and requests per boot) are kept under
 * test-output/root/. How many bytes a boot fetches is reported here and asserted only loosely
 * (well below the image); the benchmark (scripts/bench.sh root) measures it side by side.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootScenario, buildPreboot, type BuiltPreboot } from '../helpers/preboot.js';
import { bootRootIso, expectBooted, rootMedium, type RootMedium } from '../helpers/root-medium.js';
import { scaled } from '../helpers/timeouts.js';

const DIR = 'root';
let m: RootMedium;
let www: string;
const report: Record<string, unknown> = {};

/** Boots the ISO to login: and keeps what each boot cost in test-output/root/report.json. */
async function bootRoot(name: string, opts: { uefi?: boolean; memoryMiB?: number }) {
  const b = await bootRootIso(m, name, opts);
  report[name] = {
    seconds_to_login: b.loginS,
    memory_mib: opts.memoryMiB ?? 1024,
    requests: b.served.requests,
    bytes: b.served.bytes,
    blockRequests: b.served.blockRequests,
    rootBytes: b.served.rootBytes,
    image_bytes: m.published.image_bytes,
    fraction_of_image_fetched_lazily: b.served.rootBytes / m.published.image_bytes,
  };
  writeFileSync(join(m.dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return b;
}

/** The root is the overlay over the squashfs, which is the image the daemon serves over FUSE. */
function expectLazyRoot(log: string): void {
  const mounts = log.split('\n').filter((l) => / (overlay|squashfs|fuse[.a-z-]*) /.test(l));
  expect(mounts.find((l) => l.startsWith('overlay / overlay ')), mounts.join('\n')).toMatch(/lowerdir=\/run\/inetboot\/image,upperdir=\/run\/inetboot\/rw\/upper/);
  expect(mounts.find((l) => / \/run\/inetboot\/image squashfs /.test(l)), mounts.join('\n')).toMatch(/^\/dev\/loop\d+ \/run\/inetboot\/image squashfs ro/);
  expect(mounts.find((l) => / \/run\/inetboot\/blocks fuse/.test(l)), mounts.join('\n')).toBeDefined();
  // The miniroot's init and the preboot said what they did.
  expect(log).toContain('inetboot: root: ');
  expect(log).toMatch(/inetboot: network: \S+ has address 10\.0\.2\.15\/24, gateway 10\.0\.2\.2 \(taken over from the preboot\)/);
}

beforeAll(async () => {
  m = await rootMedium(DIR);
  www = m.www;
}, scaled(1_800_000));

afterAll(async () => {
  await m?.nginx.stop();
});

describe('a published Debian 12 root, booted from an inetboot ISO', () => {
  it('BIOS: boots to login: with / the overlay over the lazily fetched image, every file verified', async () => {
    const b = await bootRoot('bios', {});
    expectBooted(b);
    const { log, served: s } = b;
    expectLazyRoot(log);
    // entry -> manifest -> kernel and miniroot, each checked by the preboot before kexec.
    for (const f of ['root.json', 'kernel/', 'miniroot/']) expect(log).toMatch(new RegExp(`inetboot: verified sha256 of http://10\\.0\\.2\\.2:\\d+/${f}`));
    // Well below the image: the boot reads a small part of it (the figure: report.json).
    expect(s.rootBytes).toBeLessThan(m.published.image_bytes * 0.25);
    expect(s.rootBytes).toBeGreaterThan(0);
    expect(s.blockRequests).toBeGreaterThan(0);
  }, scaled(700_000));

  it('UEFI: boots the same root to login:', async () => {
    const b = await bootRoot('uefi', { uefi: true });
    expectBooted(b);
    expectLazyRoot(b.log);
  }, scaled(700_000));

  it('boots with less RAM than the image', async () => {
    // The image is about 340 MB; the machine gets 256 MiB (268 MB). What sets the floor is the
    // preboot's kexec, not the root: kexec_load refuses (EINVAL) segments that take more than
    // half of the memory (kernel/kexec_core.c, sanity_check_segment_list), and Debian's kernel
    // asks for 64 MiB (its init_size) beside the 14 MB miniroot: measured, -m 192 fails with
    // "kexec_load failed: Invalid argument", -m 208 has kexec killed for want of memory.
    const memoryMiB = 256;
    expect(memoryMiB * 1024 * 1024).toBeLessThan(m.published.image_bytes);
    const b = await bootRoot('small-ram', { memoryMiB });
    expectBooted(b);
    expectLazyRoot(b.log);
  }, scaled(700_000));
});

describe('a root typed at GRUB, and a root that cannot be mounted', () => {
  let preboot: BuiltPreboot;
  beforeAll(async () => {
    // The medium lists only a shell: what boots is what was typed.
    preboot = await buildPreboot(`${DIR}-typed`, { timeout: 1, entries: [{ id: 'shell', title: 'Shell', shell: true }] });
    // A tree whose manifest names an index that is not the one its hash says: the block daemon
    // must refuse it, and the miniroot must stop with a shell, not a panic.
    const bad = join(www, 'bad');
    // The published tree may be kept from an earlier run (test/helpers/root-medium.ts): start over.
    rmSync(bad, { recursive: true, force: true });
    mkdirSync(join(bad, 'index'), { recursive: true });
    const good = readFileSync(join(www, 'root.json'), 'utf8');
    const indexSha = /"index": \{"path": "index\/([0-9a-f]{64})"/.exec(good)![1]!;
    const fake = 'f'.repeat(64);
    writeFileSync(join(bad, 'root.json'), good.replaceAll(indexSha, fake));
    copyFileSync(join(www, 'index', indexSha), join(bad, 'index', fake));
    for (const d of ['kernel', 'miniroot', 'blocks']) symlinkSync(join(www, d), join(bad, d));
  }, scaled(600_000));

  it('httpfuse=URL/ (the seeds\' parameter) boots that root, loudly unverified', async () => {
    const r = await bootScenario({
      preboot, dir: DIR, name: 'typed-httpfuse', entry: 'shell',
      extraCmdline: `httpfuse=${m.nginx.baseUrlForGuest}/ ib.append="console=ttyS0"`,
      expect: ' login: ', failOn: ['Kernel panic', 'ERROR: '], timeoutS: 600,
    });
    expect(r.ok, `${r.reason} ${r.matched ?? ''}\n${r.lastLines.join('\n')}`).toBe(true);
    expect(r.log).toContain(`inetboot: httpfuse=${m.nginx.baseUrlForGuest}/root.json was typed at GRUB: booting that root instead of an entry of the menu`);
    expect(r.log).toContain("inetboot: WARNING: no ib.root_sha256= was typed: the root's manifest is NOT verified");
  }, scaled(700_000));

  it('an index that is not the one the manifest pins: the miniroot says why and leaves a shell', async () => {
    const r = await bootScenario({
      preboot, dir: DIR, name: 'bad-index', entry: 'shell',
      extraCmdline: `ib.root=${m.nginx.baseUrlForGuest}/bad/root.json ib.append="console=ttyS0"`,
      expect: 'A shell follows', failOn: ['Kernel panic', ' login: '], timeoutS: 600,
    });
    expect(r.ok, `${r.reason} ${r.matched ?? ''}\n${r.lastLines.join('\n')}`).toBe(true);
    expect(r.log).toContain('inetboot: miniroot started');
    expect(r.log).toMatch(/index http:\/\/10\.0\.2\.2:\d+\/bad\/index\/f{64} refused: \d+ bytes with sha256 [0-9a-f]{64}, expected/);
    expect(r.log).toContain('inetboot: ERROR: the block daemon could not mount the image');
  }, scaled(700_000));
});
