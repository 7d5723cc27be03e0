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
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAndWatch, type BootResult } from '../../src/qemu/boot.js';
import { bin } from '../helpers/cli.js';
import { debianRoot } from '../helpers/debian-root.js';
import { accessLogRequests, startNginx, type NginxServer } from '../helpers/nginx.js';
import { outputDir } from '../helpers/paths.js';
import { bootScenario, buildPreboot, type BuiltPreboot } from '../helpers/preboot.js';
import { scaled } from '../helpers/timeouts.js';

const DIR = 'root';
const dir = outputDir(DIR);
const www = join(dir, 'www');
const CHECK = 'ROOT-CHECK';
let nginx: NginxServer;
let iso: string;
let published: { sha256: string; image_bytes: number; blocks: number };
const report: Record<string, unknown> = {};

interface Served {
  requests: number;
  bytes: number;
  /** Of those, what the lazy root fetched: the index and blocks/ (not the manifest, kernel, miniroot). */
  blockRequests: number;
  rootBytes: number;
}

/** What nginx sent since the log was emptied. */
function served(): Served {
  const s: Served = { requests: 0, bytes: 0, blockRequests: 0, rootBytes: 0 };
  for (const r of accessLogRequests(nginx.accessLog)) {
    s.requests++;
    s.bytes += r.bytes;
    if (r.path.startsWith('/blocks/')) s.blockRequests++;
    if (r.path.startsWith('/blocks/') || r.path.startsWith('/index/')) s.rootBytes += r.bytes;
  }
  return s;
}

/** Boots the ISO to login:, logs in, prints the mounts; returns the console and the timings. */
async function bootRoot(name: string, opts: { uefi?: boolean; memoryMiB?: number }): Promise<{ r: BootResult; log: string; loginS?: number; served: Served }> {
  writeFileSync(nginx.accessLog, '');
  const logFile = join(dir, `${name}.console.log`);
  let loginS: number | undefined;
  const t0 = Date.now();
  const r = await bootAndWatch({
    iso,
    uefi: opts.uefi,
    memoryMiB: opts.memoryMiB,
    expect: `${CHECK}-42`,
    failOn: ['Kernel panic', 'ERROR: ', 'Emergency mode', 'SQUASHFS error'],
    timeoutMs: scaled(600_000),
    logFile,
    input: [
      { when: 'login:', send: 'root\n' },
      // The shell prompt of root: "root@HOST:~# ".
      { when: ':~# ', send: `cat /proc/mounts; cat /run/inetboot/blocks/stats; echo ${CHECK}-$((6*7))\n` },
    ],
    onLine: (line) => {
      // The prompt's line is complete once the typed name is echoed after it.
      if (loginS === undefined && / login: /.test(line)) loginS = (Date.now() - t0) / 1000;
    },
  });
  const log = readFileSync(logFile, 'utf8').replace(/\r/g, '');
  const s = served();
  report[name] = { seconds_to_login: loginS, memory_mib: opts.memoryMiB ?? 1024, ...s, image_bytes: published.image_bytes, fraction_of_image_fetched_lazily: s.rootBytes / published.image_bytes };
  writeFileSync(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(
    `${name}: login after ${loginS?.toFixed(1) ?? '?'} s; nginx served ${s.bytes} bytes in ${s.requests} requests; of the root: ${s.rootBytes} bytes in ${s.blockRequests} blocks and the index = ${((100 * s.rootBytes) / published.image_bytes).toFixed(1)}% of the ${published.image_bytes}-byte image`,
  );
  return { r, log, loginS, served: s };
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
  const root = await debianRoot();
  const pub = await bin(['publish', root, '--out', www, '--json']);
  expect(pub.code, pub.stderr).toBe(0);
  published = JSON.parse(pub.stdout) as typeof published;
  nginx = await startNginx({ root: www, name: `${DIR}-nginx` });

  const cfg = join(dir, 'inetboot.yaml');
  writeFileSync(cfg, 'timeout: 1\nserial: true\nentries: []\n');
  const add = await bin([
    'add-entry', '-c', cfg, '--id', 'debian12', '--title', 'Debian 12 (root over HTTP)',
    '--root', `${nginx.baseUrlForGuest}/root.json`, '--root-sha256', published.sha256, '--append', 'console=ttyS0', '--default',
  ]);
  expect(add.code, add.stderr).toBe(0);
  iso = join(dir, 'root.iso');
  const built = await bin(['build-iso', '-c', cfg, '-o', iso]);
  expect(built.code, built.stderr).toBe(0);
}, scaled(1_800_000));

afterAll(async () => {
  await nginx?.stop();
});

describe('a published Debian 12 root, booted from an inetboot ISO', () => {
  it('BIOS: boots to login: with / the overlay over the lazily fetched image, every file verified', async () => {
    const { r, log, served: s } = await bootRoot('bios', {});
    expect(r.ok, `${r.reason} ${r.matched ?? ''}\n${r.lastLines.join('\n')}`).toBe(true);
    expectLazyRoot(log);
    // entry -> manifest -> kernel and miniroot, each checked by the preboot before kexec.
    for (const f of ['root.json', 'kernel/', 'miniroot/']) expect(log).toMatch(new RegExp(`inetboot: verified sha256 of http://10\\.0\\.2\\.2:\\d+/${f}`));
    // Well below the image: the boot reads a small part of it (the figure: report.json).
    expect(s.rootBytes).toBeLessThan(published.image_bytes * 0.25);
    expect(s.rootBytes).toBeGreaterThan(0);
    expect(s.blockRequests).toBeGreaterThan(0);
  }, scaled(700_000));

  it('UEFI: boots the same root to login:', async () => {
    const { r, log } = await bootRoot('uefi', { uefi: true });
    expect(r.ok, `${r.reason} ${r.matched ?? ''}\n${r.lastLines.join('\n')}`).toBe(true);
    expectLazyRoot(log);
  }, scaled(700_000));

  it('boots with less RAM than the image', async () => {
    // The image is about 340 MB; the machine gets 256 MiB (268 MB). What sets the floor is the
    // preboot's kexec, not the root: kexec_load refuses (EINVAL) segments that take more than
    // half of the memory (kernel/kexec_core.c, sanity_check_segment_list), and Debian's kernel
    // asks for 64 MiB (its init_size) beside the 14 MB miniroot: measured, -m 192 fails with
    // "kexec_load failed: Invalid argument", -m 208 has kexec killed for want of memory.
    const memoryMiB = 256;
    expect(memoryMiB * 1024 * 1024).toBeLessThan(published.image_bytes);
    const { r, log } = await bootRoot('small-ram', { memoryMiB });
    expect(r.ok, `${r.reason} ${r.matched ?? ''}\n${r.lastLines.join('\n')}`).toBe(true);
    expectLazyRoot(log);
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
      extraCmdline: `httpfuse=${nginx.baseUrlForGuest}/ ib.append="console=ttyS0"`,
      expect: ' login: ', failOn: ['Kernel panic', 'ERROR: '], timeoutS: 600,
    });
    expect(r.ok, `${r.reason} ${r.matched ?? ''}\n${r.lastLines.join('\n')}`).toBe(true);
    expect(r.log).toContain(`inetboot: httpfuse=${nginx.baseUrlForGuest}/root.json was typed at GRUB: booting that root instead of an entry of the menu`);
    expect(r.log).toContain("inetboot: WARNING: no ib.root_sha256= was typed: the root's manifest is NOT verified");
  }, scaled(700_000));

  it('an index that is not the one the manifest pins: the miniroot says why and leaves a shell', async () => {
    const r = await bootScenario({
      preboot, dir: DIR, name: 'bad-index', entry: 'shell',
      extraCmdline: `ib.root=${nginx.baseUrlForGuest}/bad/root.json ib.append="console=ttyS0"`,
      expect: 'A shell follows', failOn: ['Kernel panic', ' login: '], timeoutS: 600,
    });
    expect(r.ok, `${r.reason} ${r.matched ?? ''}\n${r.lastLines.join('\n')}`).toBe(true);
    expect(r.log).toContain('inetboot: miniroot started');
    expect(r.log).toMatch(/index http:\/\/10\.0\.2\.2:\d+\/bad\/index\/f{64} refused: \d+ bytes with sha256 [0-9a-f]{64}, expected/);
    expect(r.log).toContain('inetboot: ERROR: the block daemon could not mount the image');
  }, scaled(700_000));
});
