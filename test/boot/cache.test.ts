/**
 * The local artifact cache (lib/inetboot/cache.sh) on disks made by `inetboot make-cache-disk`,
 * attached to the QEMU guest: first boot stores the pinned downloads, a corrupt cached file is
 * detected and fetched again, a full disk does not stop the boot, and with the server stopped
 * the boot comes from the cache. The scenarios run in order and share the vfat disk. Console
 * logs under test-output/cache/.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/run.js';
import { silentLogger } from '../../src/log.js';
import { makeCacheDisk } from '../../src/pipeline/cache-disk.js';
import { buildPreboot, bootScenario, type BuiltPreboot, serveTarget } from '../helpers/preboot.js';
import type { NginxServer } from '../helpers/nginx.js';
import { outputDir } from '../helpers/paths.js';
import { TARGET_MARKER, targetLine, type TargetFiles } from '../helpers/target.js';
import { scaled } from '../helpers/timeouts.js';

const DIR = 'cache';
const MIB = 1024 * 1024;
let nginx: NginxServer;
let target: TargetFiles;
let preboot: BuiltPreboot;
let vfatDisk: string;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const disk = (file: string, iface: 'virtio' | 'ide') => ['-drive', `file=${file},format=raw,if=${iface}`];
/** A file of the vfat cache image, read with mtools (no mount). */
const vfatFile = async (image: string, sha: string) => (await run('mcopy', ['-n', '-i', image, `::/inetboot-cache/${sha}`, '-'], { binary: true })).stdoutBuffer!;
const requests = () => readFileSync(nginx.accessLog, 'utf8').split('\n').filter((l) => / "GET \//.test(l));

beforeAll(async () => {
  ({ target, nginx } = await serveTarget(DIR));
  const url = (p: string) => `${nginx.baseUrlForGuest}/${p}`;
  preboot = await buildPreboot(DIR, {
    entries: [
      {
        id: 'pinned',
        title: 'Pinned target',
        kernel: { url: url('vmlinuz'), sha256: target.kernelSha256 },
        initrd: { url: url('target.img'), sha256: target.initrdSha256 },
        append: 'console=ttyS0 cached=1',
      },
    ],
  });
  vfatDisk = join(outputDir(DIR), 'cache-vfat.img');
  rmSync(vfatDisk, { force: true });
  await makeCacheDisk({ path: vfatDisk, bytes: 64 * MIB, fs: 'vfat', logger: silentLogger() });
}, scaled(600_000));

afterAll(async () => {
  await nginx?.stop();
});

describe('local cache disk', () => {
  it('first boot downloads the pinned files and stores them in inetboot-cache/ (vfat, virtio disk)', async () => {
    writeFileSync(nginx.accessLog, '');
    const r = await bootScenario({ preboot, dir: DIR, name: 'first-boot-stores', entry: 'pinned', expect: TARGET_MARKER, extraArgs: disk(vfatDisk, 'virtio') });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain('inetboot: cache: using inetboot-cache/ on /dev/vda (vfat)');
    expect(r.log).toMatch(new RegExp(`inetboot: cache: stored ${target.kernelSha256} \\(\\d+ bytes\\) on /dev/vda`));
    expect(r.log).toMatch(new RegExp(`inetboot: cache: stored ${target.initrdSha256} \\(\\d+ bytes\\) on /dev/vda`));
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 cached=1');
    expect(requests().length).toBe(2);
    expect(sha256(await vfatFile(vfatDisk, target.kernelSha256))).toBe(target.kernelSha256);
    expect(sha256(await vfatFile(vfatDisk, target.initrdSha256))).toBe(target.initrdSha256);
  }, scaled(300_000));

  it('a corrupt cached file is detected, removed, fetched again and replaced', async () => {
    const garbage = Buffer.from('not the kernel\n');
    const garbageFile = join(outputDir(DIR), 'garbage');
    writeFileSync(garbageFile, garbage);
    await run('mcopy', ['-o', '-i', vfatDisk, garbageFile, `::/inetboot-cache/${target.kernelSha256}`]);
    writeFileSync(nginx.accessLog, '');
    const r = await bootScenario({ preboot, dir: DIR, name: 'corrupt-cached-file', entry: 'pinned', expect: TARGET_MARKER, extraArgs: disk(vfatDisk, 'virtio') });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain(`inetboot: cache: the cached copy of ${target.kernelSha256} on /dev/vda is corrupt (sha256 ${sha256(garbage)}): removed it; downloading it again`);
    expect(r.log).toContain(`inetboot: verified sha256 of ${nginx.baseUrlForGuest}/vmlinuz`);
    expect(r.log).toMatch(new RegExp(`inetboot: cache: stored ${target.kernelSha256} `));
    expect(r.log).toContain(`inetboot: initrd: from the local cache (sha256 ${target.initrdSha256})`);
    // Only the kernel came over the network.
    expect(requests().map((l) => / "GET (\S+)/.exec(l)?.[1])).toEqual(['/vmlinuz']);
    expect(sha256(await vfatFile(vfatDisk, target.kernelSha256))).toBe(target.kernelSha256);
  }, scaled(300_000));

  it('a full cache disk does not stop the boot (ext4, AHCI disk /dev/sda)', async () => {
    // 4 MiB of ext4 cannot hold the ~8 MB kernel: storing it fails with "No space left on device".
    const small = join(outputDir(DIR), 'cache-ext4-full.img');
    rmSync(small, { force: true });
    await makeCacheDisk({ path: small, bytes: 4 * MIB, fs: 'ext4', logger: silentLogger() });
    const r = await bootScenario({ preboot, dir: DIR, name: 'full-disk', entry: 'pinned', expect: TARGET_MARKER, extraArgs: disk(small, 'ide') });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain('inetboot: cache: using inetboot-cache/ on /dev/sda (ext4)');
    expect(r.log).toMatch(new RegExp(`inetboot: WARNING: cache: could not store ${target.kernelSha256} on /dev/sda \\([^)]*No space left on device\\): booting without caching it`));
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 cached=1');
  }, scaled(300_000));

  it('with the server stopped, the boot comes from the cache, with no network traffic for the files', async () => {
    await nginx.stop();
    const r = await bootScenario({ preboot, dir: DIR, name: 'server-down', entry: 'pinned', expect: TARGET_MARKER, extraArgs: disk(vfatDisk, 'virtio') });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain(`inetboot: kernel: from the local cache (sha256 ${target.kernelSha256})`);
    expect(r.log).toContain(`inetboot: initrd: from the local cache (sha256 ${target.initrdSha256})`);
    expect(r.log).not.toContain('inetboot: downloading');
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 cached=1');
  }, scaled(300_000));
});
