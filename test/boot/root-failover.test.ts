/**
 * A lazily fetched root when its mirrors fail, and a new version over a filled cache, in QEMU
 * (TCG), with the Debian 12 test root (test/helpers/root-medium.ts): the preboot started
 * directly with an entry (test/helpers/preboot.ts), as GRUB would.
 *
 *  - mirror 1 of 2 serves a corrupted block 0 (a second nginx over a copy of the tree): the boot
 *    reaches login: from mirror 2, and the console names mirror 1's bad block;
 *  - that mirror alone: the squashfs cannot be mounted; the console names the block, and a
 *    shell follows (never wrong data, never a panic);
 *  - mirror 1 dies after its first 40 requests (the repo's fault server): login: from mirror 2;
 *  - version 2 (one Debian package installed) published into the same tree with the boot profile
 *    version 1 recorded: a few blocks added; booted after version 1 filled a USB stick: only
 *    blocks of version 2 that version 1 did not have are requested, and the profile's blocks
 *    are fetched ahead of the reads.
 *
 * Console logs under test-output/root-failover/.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/pipeline/publish/manifest.js';
import { indexBlockNames } from '../../src/pipeline/publish/index-file.js';
import { bin } from '../helpers/cli.js';
import { debianRoot, withOnePackage } from '../helpers/debian-root.js';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.js';
import { startNginx, type NginxServer } from '../helpers/nginx.js';
import { bootScenario, buildPreboot, type BuiltPreboot } from '../helpers/preboot.js';
import { PRINT_PROFILE, profileFromConsole, rootMedium, ROOT_CHECK, served, SETTLE, type RootMedium } from '../helpers/root-medium.js';
import { scaled } from '../helpers/timeouts.js';
import { makeUsbStick, stickBlocks, usbStickArgs } from '../helpers/usb-stick.js';

const DIR = 'root-failover';
let m: RootMedium;
let badTree: string;
let bad: NginxServer;
let fault: FaultServer;
let preboot: BuiltPreboot;
let block0: string;

const LOGIN = [
  { when: 'login:', send: 'root\n' },
  { when: ':~# ', send: `cat /run/inetboot/blocks/stats; echo ${ROOT_CHECK}-$((6*7))\n` },
];

const rootOf = (...urls: string[]) => ({ urls, sha256: m.published.sha256 });

function blockNames(indexPath: string): string[] {
  return indexBlockNames(readFileSync(join(m.www, indexPath)), indexPath);
}

beforeAll(async () => {
  m = await rootMedium(DIR);
  block0 = blockNames(m.manifest.index.path)[0]!;
  // Mirror 1: the same tree (hard links) with block 0 replaced by other bytes of its size.
  badTree = join(m.dir, 'www-bad');
  rmSync(badTree, { recursive: true, force: true });
  execFileSync('cp', ['-al', m.www, badTree]);
  const file = join(badTree, 'blocks', block0);
  const size = readFileSync(file).length;
  rmSync(file);
  writeFileSync(file, Buffer.alloc(size, 0x5a));
  bad = await startNginx({ root: badTree, name: `${DIR}-bad` });
  fault = await startFaultServer({ root: m.www });
  const good = `${m.nginx.baseUrlForGuest}/root.json`;
  preboot = await buildPreboot(`${DIR}-preboot`, {
    timeout: 1,
    entries: [
      { id: 'two', title: 'Bad mirror first', root: rootOf(`${bad.baseUrlForGuest}/root.json`, good), append: 'console=ttyS0' },
      { id: 'bad', title: 'Bad mirror only', root: rootOf(`${bad.baseUrlForGuest}/root.json`), append: 'console=ttyS0' },
      { id: 'dies', title: 'Mirror dies', root: rootOf(fault.guestUrl('dies', 40, 'root.json'), good), append: 'console=ttyS0' },
    ],
  });
}, scaled(1_800_000));

afterAll(async () => {
  await m?.nginx.stop();
  await bad?.stop();
  await fault?.stop();
});

describe('a lazily fetched root when a mirror fails', () => {
  it('a corrupted block on mirror 1 of 2: login: from mirror 2, and the console names the bad block', async () => {
    // ib.mirrors=listed: mirror 1 first, as listed, whatever the measurement says.
    const r = await bootScenario({ preboot, dir: DIR, name: 'bad-block-mirror1', entry: 'two', extraCmdline: 'ib.mirrors=listed', expect: `${ROOT_CHECK}-42`, failOn: ['Kernel panic', 'ERROR: '], timeoutS: 600, input: LOGIN });
    expect(r.ok, `${r.reason} ${r.matched ?? ''}\n${r.lastLines.join('\n')}`).toBe(true);
    expect(r.log).toMatch(new RegExp(`block 0 \\([0-9a-f]{16}\\.\\.\\.\\) from ${bad.baseUrlForGuest.replace(/\./g, '\\.')}/blocks/${block0.replace('.', '\\.')}: .*: that source is not asked again this boot while another is left; moving to ${m.nginx.baseUrlForGuest.replace(/\./g, '\\.')}/`));
  }, scaled(800_000));

  it('the corrupted mirror alone: the block is named, the root is not mounted, a shell follows', async () => {
    const r = await bootScenario({ preboot, dir: DIR, name: 'bad-block-only', entry: 'bad', expect: 'A shell follows', failOn: ['Kernel panic', ' login: '], timeoutS: 600 });
    expect(r.ok, `${r.reason} ${r.matched ?? ''}\n${r.lastLines.join('\n')}`).toBe(true);
    expect(r.log).toMatch(/block 0 \([0-9a-f]{64}\) refused or unreachable on every source/);
    expect(r.log).toContain('inetboot: ERROR: could not mount /run/inetboot/blocks/image as squashfs');
  }, scaled(800_000));

  it('mirror 1 dies after 40 requests: login: from mirror 2, said once', async () => {
    const r = await bootScenario({ preboot, dir: DIR, name: 'mirror-dies', entry: 'dies', extraCmdline: 'ib.mirrors=listed', expect: `${ROOT_CHECK}-42`, failOn: ['Kernel panic', 'ERROR: '], timeoutS: 600, input: LOGIN });
    expect(r.ok, `${r.reason} ${r.matched ?? ''}\n${r.lastLines.join('\n')}`).toBe(true);
    expect(fault.requests.length).toBeGreaterThan(40);
    expect(r.log.match(/from http:\/\/10\.0\.2\.2:\d+\/dies\/40\/blocks\/\S+: .*; moving to /g) ?? []).toHaveLength(1);
  }, scaled(800_000));
});

describe('a new version over a filled cache', () => {
  it('version 2 after version 1 with the cache: only the blocks version 1 did not have are requested', async () => {
    const stick = await makeUsbStick(join(m.dir, 'stick.img'), 256);
    const v1 = await buildPreboot(`${DIR}-v1`, { timeout: 1, entries: [{ id: 'v1', title: 'v1', root: rootOf(`${m.nginx.baseUrlForGuest}/root.json`), append: 'console=ttyS0' }] });
    // The boot profile version 1 recorded, for version 2 (README, "Boot profiles").
    const withSettle = [LOGIN[0]!, { when: ':~# ', send: `${PRINT_PROFILE}; ${SETTLE}; echo ${ROOT_CHECK}-$((6*7))\n` }];
    const first = await bootScenario({ preboot: v1, dir: DIR, name: 'version-1', entry: 'v1', expect: `${ROOT_CHECK}-42`, failOn: ['Kernel panic', 'ERROR: '], timeoutS: 600, input: withSettle, extraArgs: usbStickArgs(stick) });
    expect(first.ok, `${first.reason}\n${first.lastLines.join('\n')}`).toBe(true);
    const cached = new Set(await stickBlocks(stick));
    expect(cached.size).toBeGreaterThan(50);

    // Version 2: the same root with one package installed (Debian's hello, by dpkg, in an
    // overlay over the cached root, which stays as it is).
    const v2root = await withOnePackage(await debianRoot(), join(m.dir, 'v2'));
    let v2sha: string;
    let added: number;
    let profileBlocks = 0;
    try {
      const profile = join(m.dir, 'version-1.profile');
      writeFileSync(profile, profileFromConsole(first.log));
      const pub = await bin(['publish', v2root.root, '--out', m.www, '--profile', profile, '--json']);
      expect(pub.code, pub.stderr).toBe(0);
      const r = JSON.parse(pub.stdout) as { sha256: string; blocks: number; blocks_added: number; blocks_reused: number; bytes_written: number; profile_blocks: number; profile_dropped: number };
      profileBlocks = r.profile_blocks;
      console.log(`version 2's boot profile: ${r.profile_blocks} blocks, ${r.profile_dropped} of version 1's no longer in the image`);
      expect(r.profile_blocks).toBeGreaterThan(50);
      v2sha = r.sha256;
      added = r.blocks_added;
      console.log(`version 2 (one package): ${r.blocks_added} of ${r.blocks} blocks added, ${r.blocks_reused} reused, ${r.bytes_written} bytes written`);
      // Content-defined blocks and packages kept together (daemon/chunk.h, order.ts): a few
      // blocks, where cuts every 256 KiB made nearly every block new.
      expect(r.blocks_added).toBeLessThanOrEqual(25);
    } finally {
      await v2root.done();
    }
    const v2manifest = parseManifest(readFileSync(join(m.www, 'root.json'), 'utf8'));
    const v1blocks = new Set(blockNames(m.manifest.index.path));
    const v2 = await buildPreboot(`${DIR}-v2`, { timeout: 1, entries: [{ id: 'v2', title: 'v2', root: { url: `${m.nginx.baseUrlForGuest}/root.json`, sha256: v2sha }, append: 'console=ttyS0' }] });
    writeFileSync(m.nginx.accessLog, '');
    const second = await bootScenario({ preboot: v2, dir: DIR, name: 'version-2', entry: 'v2', expect: `${ROOT_CHECK}-42`, failOn: ['Kernel panic', 'ERROR: '], timeoutS: 600, input: LOGIN, extraArgs: usbStickArgs(stick) });
    expect(second.ok, `${second.reason}\n${second.lastLines.join('\n')}`).toBe(true);
    const s = served(m.nginx);
    const requested = s.paths.filter((p) => p.startsWith('/blocks/')).map((p) => p.slice('/blocks/'.length));
    console.log(`version 2 boot over the version 1 cache: ${s.bytes} bytes in ${s.requests} requests, ${requested.length} blocks (of ${added} added by version 2)`);
    // Nothing the stick holds is asked for again; what is asked for is new in version 2, or a
    // block of version 1 that its boot never read (so never cached).
    for (const b of requested) expect(cached.has(b), b).toBe(false);
    const fresh = requested.filter((b) => !v1blocks.has(b)).length;
    console.log(`  of them new in version 2: ${fresh}; of version 1 but never read before: ${requested.length - fresh}`);
    expect(requested.length).toBeLessThanOrEqual(added);
    expect(new Set(blockNames(v2manifest.index.path)).size).toBeGreaterThan(requested.length);
    // What else was asked for: the new manifest, index and profile (the kernel and miniroot are
    // the same files, from the stick).
    expect(s.paths.filter((p) => !p.startsWith('/blocks/')).sort()).toEqual(['/root.json', `/${v2manifest.index.path}`, `/${v2manifest.profile!.path}`].sort());
    // The profile's blocks were fetched ahead of the reads (from the stick, or the server for
    // the new ones), and the reads found them there.
    const stats = Object.fromEntries([...second.log.matchAll(/^(prefetched|prefetch_hits|profile_blocks) (\d+)\r?$/gm)].map((x) => [x[1]!, Number(x[2])]));
    console.log(`version 2 boot: ${JSON.stringify(stats)}`);
    expect(second.log).toContain(`profile ${v2manifest.profile!.sha256}: ${profileBlocks} blocks to fetch ahead of the reads`);
    expect(stats.profile_blocks).toBe(profileBlocks);
    expect(stats.prefetched).toBeGreaterThan(profileBlocks / 2);
    expect(stats.prefetch_hits).toBeGreaterThan(profileBlocks / 4);
  }, scaled(1_500_000));
});
