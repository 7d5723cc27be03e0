/**
 * The local cache (lib/inetboot/cache.sh) run by the host's BusyBox sh on a cache-disk image made
 * by `inetboot make-cache-disk`, named in IB_CACHE_DEVICES (the allow-list that /init sets to
 * "block"): the cache behaviours of test/boot/cache.test.ts in seconds. The host kernel of these
 * machines mounts ext4 images (loop) but has no vfat, so the images here are ext4; the QEMU
 * scenarios use vfat. Mounting needs root (as CI runs); elsewhere this is skipped, saying why.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { makeCacheDisk } from '../../src/pipeline/cache-disk.js';
import { startNginx, type NginxServer } from '../helpers/nginx.js';
import { outputDir } from '../helpers/paths.js';
import { fetchSources } from '../helpers/preboot-shell.js';
import { sha256 } from '../helpers/target.js';
import { freePort } from '../helpers/ports.js';
import { scaled } from '../helpers/timeouts.js';

const ROOT = process.getuid?.() === 0;
const DIR = 'cache-shell';
const MIB = 1024 * 1024;
let nginx: NginxServer;
let blob: Buffer;
let closed: number;

/** fetch_sources of one URL, pinned, with IB_CACHE_DEVICES (or none). */
const fetchCached = (url: string, opts: { devices?: string }) => fetchSources([url], { sha: sha256(blob), cacheDevices: opts.devices, timeoutMs: scaled(60_000) });

/** Runs `work` with the image mounted read-write at a fresh directory. */
async function withImage<T>(image: string, work: (dir: string) => T | Promise<T>): Promise<T> {
  const mnt = mkdtempSync(join(tmpdir(), 'inetboot-cache-mnt-'));
  await execa('mount', ['-t', 'ext4', image, mnt]);
  try {
    return await work(mnt);
  } finally {
    await execa('umount', [mnt]);
    // Only an empty folder once unmounted: rmdirSync refuses anything else.
    rmdirSync(mnt);
  }
}

beforeAll(async () => {
  const www = join(outputDir(DIR), 'www');
  mkdirSync(www, { recursive: true });
  blob = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 13) & 0xff));
  writeFileSync(join(www, 'blob'), blob);
  nginx = await startNginx({ root: www, name: `${DIR}-nginx` });
  closed = await freePort();
}, scaled(60_000));

afterAll(async () => {
  await nginx?.stop();
});

describe.skipIf(!ROOT)('the local cache on an image file (BusyBox sh; mounting needs root)', () => {
  const image = join(outputDir(DIR), 'cache.img');

  beforeAll(async () => {
    await makeCacheDisk({ path: image, bytes: 16 * MIB, fs: 'ext4', force: true, logger: silentLogger() });
  }, scaled(60_000));

  it('without IB_CACHE_DEVICES the cache is off: nothing is mounted, the file is downloaded', async () => {
    const r = await fetchCached(nginx.url('blob'), {});
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain('cache:');
    expect(await withImage(image, (d) => readdirSync(join(d, 'inetboot-cache')))).toEqual([]);
  });

  it('the first download is stored under its sha256, whole', async () => {
    const r = await fetchCached(nginx.url('blob'), { devices: image });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`inetboot: cache: using inetboot-cache/ on ${image} (ext4)`);
    expect(r.out).toContain(`inetboot: cache: stored ${sha256(blob)} (${blob.length} bytes) on ${image}`);
    expect(await withImage(image, (d) => readFileSync(join(d, 'inetboot-cache', sha256(blob))).equals(blob))).toBe(true);
  });

  it('with the server gone, the file comes from the cache', async () => {
    const r = await fetchCached(`http://127.0.0.1:${closed}/blob`, { devices: image });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`inetboot: blob: from the local cache (sha256 ${sha256(blob)})`);
    expect(r.out).not.toContain('downloading');
    expect(r.file?.equals(blob)).toBe(true);
  });

  it('a corrupt cached copy is removed, downloaded again and stored again', async () => {
    await withImage(image, (d) => writeFileSync(join(d, 'inetboot-cache', sha256(blob)), 'not the file'));
    const r = await fetchCached(nginx.url('blob'), { devices: image });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`inetboot: cache: the cached copy of ${sha256(blob)} on ${image} is corrupt (sha256 ${sha256(Buffer.from('not the file'))}): removed it; downloading it again`);
    expect(r.out).toContain(`inetboot: cache: stored ${sha256(blob)}`);
    expect(r.file?.equals(blob)).toBe(true);
    expect(await withImage(image, (d) => readFileSync(join(d, 'inetboot-cache', sha256(blob))).equals(blob))).toBe(true);
  });

  it('ib.cache=readonly: the cache is read, and nothing is stored', async () => {
    const ro = join(outputDir(DIR), 'readonly.img');
    await makeCacheDisk({ path: ro, bytes: 16 * MIB, fs: 'ext4', force: true, logger: silentLogger() });
    const fresh = await fetchSources([nginx.url('blob')], { sha: sha256(blob), cacheDevices: ro, cmdline: 'ib.cache=readonly', timeoutMs: scaled(60_000) });
    expect(fresh.code, fresh.out).toBe(0);
    expect(fresh.out).toContain('inetboot: cache: read-only (ib.cache=readonly): nothing is stored this boot');
    expect(fresh.out).not.toContain('cache: stored');
    expect(await withImage(ro, (d) => readdirSync(join(d, 'inetboot-cache')))).toEqual([]);
    // What is there is used.
    await withImage(ro, (d) => writeFileSync(join(d, 'inetboot-cache', sha256(blob)), blob));
    const cached = await fetchSources([`http://127.0.0.1:${closed}/blob`], { sha: sha256(blob), cacheDevices: ro, cmdline: 'ib.cache=readonly', timeoutMs: scaled(60_000) });
    expect(cached.code, cached.out).toBe(0);
    expect(cached.out).toContain(`inetboot: blob: from the local cache (sha256 ${sha256(blob)})`);
  });

  it('a full cache disk: a warning, and the download is used all the same', async () => {
    const small = join(outputDir(DIR), 'small.img');
    await makeCacheDisk({ path: small, bytes: 2 * MIB, fs: 'ext4', force: true, logger: silentLogger() });
    await withImage(small, (d) => execa('dd', ['if=/dev/zero', `of=${join(d, 'filler')}`, 'bs=64k'], { reject: false }));
    const r = await fetchCached(nginx.url('blob'), { devices: small });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(new RegExp(`inetboot: WARNING: cache: could not store ${sha256(blob)} on ${small.replace(/[/.]/g, '\\$&')} \\(.*No space left on device\\): booting without caching it`));
    expect(r.file?.equals(blob)).toBe(true);
  });
});
