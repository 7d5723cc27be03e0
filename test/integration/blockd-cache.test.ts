/**
 * The block daemon's cache on a local disk (daemon/disk.c; README, "The block cache"), on this
 * machine with FUSE (no QEMU): the first run fills the cache folder, a second one serves the
 * whole image with no server at all, a torn or corrupt cached block is removed and fetched
 * again, a cached block made by another zstd is still used, --cache-readonly writes nothing, and
 * a full cache disk warns once and never fails a read. Mounting needs root (as CI runs).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RootManifest } from '../../src/pipeline/publish/manifest.js';
import { indexBlockNames } from '../../src/pipeline/publish/index-file.js';
import { accessLogRequests, type NginxServer } from '../helpers/nginx.js';
import { outputDir } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { publishedLean, startBlockd } from '../helpers/published.js';
import { scaled } from '../helpers/timeouts.js';

const ROOT_USER = process.getuid?.() === 0;
const OUT = outputDir('blockd-cache');
const pub = join(OUT, 'tree');
let manifest: RootManifest;
let nginx: NginxServer;
let daemon: string;
/** The image as the daemon served it from nginx with no cache (publish.test.ts proves it right). */
let image: Buffer;

/** The block files of the published index, in image order ("HH/HASH[.zst]"). */
function indexBlocks(): string[] {
  const file = join(pub, manifest.index.path);
  return indexBlockNames(readFileSync(file), file);
}

function cachedBlocks(cache: string): string[] {
  const dir = join(cache, 'blocks');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((shard) => readdirSync(join(dir, shard)).map((f) => `${shard}/${f}`)).sort();
}

const args = (cache: string, ...extra: string[]) => [
  '--source',
  nginx.url(''),
  '--index-sha256',
  manifest.index.sha256,
  '--index-size',
  String(manifest.index.size),
  '--cache-dir',
  cache,
  ...extra,
];

function freshCache(name: string): string {
  const dir = join(OUT, name, 'inetboot-cache');
  rmSync(join(OUT, name), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A cache folder that one run reading the whole image filled. */
async function filledCache(name: string): Promise<string> {
  const cache = freshCache(name);
  const first = await startBlockd(daemon, args(cache));
  try {
    readFileSync(first.image);
  } finally {
    await first.stop();
  }
  return cache;
}

/** The daemon's options with a source where nothing listens: every byte must come from the cache. */
const offline = async (cache: string) => {
  const dead = `http://127.0.0.1:${await freePort()}/`;
  return args(cache).map((a) => (a === nginx.url('') ? dead : a));
};

describe.skipIf(!ROOT_USER)('the block cache on a local disk (FUSE mounts need root)', () => {
  beforeAll(async () => {
    ({ manifest, nginx, daemon } = await publishedLean('blockd-cache', pub));
    const d = await startBlockd(daemon, args(freshCache('reference'), '--cache-readonly'));
    try {
      image = readFileSync(d.image);
    } finally {
      await d.stop();
    }
    expect(image.length).toBe(manifest.image_bytes);
  }, scaled(600_000));

  afterAll(async () => {
    await nginx?.stop();
  });

  it('the first run fills the cache: the index and every block read, under their hashes', async () => {
    const opened = freshCache('fill');
    const d = await startBlockd(daemon, args(opened));
    // The folder moves once the daemon runs, as the miniroot's switch_root moves the cache
    // disk's mount into the new root: the daemon holds the folder, not its path.
    const cache = join(OUT, 'fill', 'moved');
    renameSync(opened, cache);
    try {
      expect(readFileSync(d.image).equals(image)).toBe(true);
    } finally {
      await d.stop();
    }
    const want = [...new Set(indexBlocks())].sort();
    expect(cachedBlocks(cache)).toEqual(want);
    for (const name of want.slice(0, 20)) expect(readFileSync(join(cache, 'blocks', name)).equals(readFileSync(join(pub, 'blocks', name)))).toBe(true);
    expect(readFileSync(join(cache, manifest.index.sha256)).equals(readFileSync(join(pub, manifest.index.path)))).toBe(true);
    expect(d.log()).toContain(`cache: blocks in ${opened}/blocks`);
    // Nothing half-written is left behind.
    expect(readdirSync(cache).filter((f) => f.startsWith('.'))).toEqual([]);
  }, scaled(180_000));

  it('a second run serves the whole image from the cache with no server answering', async () => {
    const cache = await filledCache('offline');
    const d = await startBlockd(daemon, await offline(cache));
    try {
      expect(readFileSync(d.image).equals(image)).toBe(true);
      const s = d.stats();
      expect(s.transfers).toBe(0);
      expect(s.disk_hits).toBe(new Set(indexBlocks()).size);
      expect(d.log()).toContain(`index ${manifest.index.sha256} from the cache`);
    } finally {
      await d.stop();
    }
  }, scaled(180_000));

  it('a torn or corrupt cached block is removed, fetched again and rewritten; never served', async () => {
    const cache = await filledCache('torn');
    const blocks = indexBlocks();
    const torn = blocks[5]!;
    const flipped = blocks[9]!;
    const tornFile = join(cache, 'blocks', torn);
    writeFileSync(tornFile, readFileSync(tornFile).subarray(0, 100));
    const f = join(cache, 'blocks', flipped);
    const bytes = readFileSync(f);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    writeFileSync(f, bytes);
    writeFileSync(nginx.accessLog, '');
    const d = await startBlockd(daemon, args(cache));
    try {
      expect(readFileSync(d.image).equals(image)).toBe(true);
      expect(d.stats().disk_corrupt).toBe(2);
    } finally {
      await d.stop();
    }
    expect(d.log()).toMatch(new RegExp(`cache: block 5 \\([0-9a-f]{16}\\.\\.\\.\\) in ${join(cache, 'blocks', torn).replace(/\./g, '\\.')} is unusable \\(.*\\): removed it; fetching it again`));
    expect(d.log()).toContain(`cache: block 9 (`);
    // Exactly those two came from the server, and the cache holds them whole again.
    expect(accessLogRequests(nginx.accessLog).map((r) => r.path).sort()).toEqual([`/blocks/${torn}`, `/blocks/${flipped}`].sort());
    expect(readFileSync(tornFile).equals(readFileSync(join(pub, 'blocks', torn)))).toBe(true);
    expect(readFileSync(f).equals(readFileSync(join(pub, 'blocks', flipped)))).toBe(true);
  }, scaled(180_000));

  it('a cached block that another zstd made (other bytes, the same content) is used', async () => {
    const cache = await filledCache('other-zstd');
    const z = indexBlocks().find((b) => b.endsWith('.zst'))!;
    const file = join(cache, 'blocks', z);
    const raw = (await execa('zstd', ['-d', '-c', file], { encoding: 'buffer' })).stdout;
    // The daemon decodes only frames that declare their size (daemon/block.c): from a pipe, zstd
    // knows it only when told.
    await execa('sh', ['-c', 'zstd -q -19 --no-check --stream-size="$2" -c > "$1"', 'sh', file, String(raw.length)], { input: raw });
    expect(readFileSync(file).equals(readFileSync(join(pub, 'blocks', z)))).toBe(false);
    const d = await startBlockd(daemon, await offline(cache));
    try {
      expect(readFileSync(d.image).equals(image)).toBe(true);
      expect(d.stats().disk_corrupt).toBe(0);
    } finally {
      await d.stop();
    }
  }, scaled(180_000));

  it('--cache-readonly reads the cache and writes nothing', async () => {
    const cache = freshCache('readonly');
    const d = await startBlockd(daemon, args(cache, '--cache-readonly'));
    try {
      expect(readFileSync(d.image).equals(image)).toBe(true);
      expect(d.stats().disk_writes).toBe(0);
    } finally {
      await d.stop();
    }
    expect(readdirSync(cache)).toEqual([]);
    expect(d.log()).toContain('(read-only)');
  }, scaled(180_000));

  it('a full cache disk: one warning, every read still right, what was written is whole', async () => {
    const mnt = join(OUT, 'full');
    rmSync(mnt, { recursive: true, force: true });
    mkdirSync(mnt, { recursive: true });
    // A 1 MiB tmpfs holds a few blocks of this image (about 6 MB stored), not all of them.
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    try {
      const cache = join(mnt, 'inetboot-cache');
      mkdirSync(cache);
      const d = await startBlockd(daemon, args(cache));
      try {
        expect(readFileSync(d.image).equals(image)).toBe(true);
        const s = d.stats();
        expect(s.disk_write_failures).toBe(1);
        expect(s.blocks_failed).toBe(0);
      } finally {
        await d.stop();
      }
      expect(d.log().match(/WARNING: cache: could not write/g)).toHaveLength(1);
      expect(d.log()).toMatch(/No space left on device: no more blocks are cached this boot/);
      const kept = cachedBlocks(cache);
      expect(kept.length).toBeGreaterThan(0);
      for (const name of kept) {
        expect(name.split('/')[1]!.startsWith('.'), name).toBe(false);
        expect(readFileSync(join(cache, 'blocks', name)).equals(readFileSync(join(pub, 'blocks', name))), name).toBe(true);
      }
      expect(statSync(cache).isDirectory()).toBe(true);
    } finally {
      await execa('umount', [mnt], { reject: false });
    }
  }, scaled(180_000));
});
