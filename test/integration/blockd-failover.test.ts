/**
 * The block daemon's sources under faults (daemon/fetch.c; README, "Sources and failover"), on
 * this machine with FUSE (no QEMU): the repo's fault server (test/helpers/fault-server.ts) as
 * the first source and nginx as the second. A source that sends wrong bytes, dies after some
 * requests or stalls: the whole image still reads right, from the next source, and the console
 * says so once. Every source gone: a read is an I/O error naming the block, and when a server
 * answers again the daemon fetches the block by itself. Mounting needs root (as CI runs).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexBlockNames } from '../../src/pipeline/publish/index-file.js';
import type { RootManifest } from '../../src/pipeline/publish/manifest.js';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.js';
import { accessLogRequests, startNginx, type NginxServer } from '../helpers/nginx.js';
import { outputDir } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { ddBlock, publishedLean, startBlockd, type MountedBlockd } from '../helpers/published.js';
import { scaled } from '../helpers/timeouts.js';

const ROOT_USER = process.getuid?.() === 0;
const OUT = outputDir('blockd-failover');
const pub = join(OUT, 'tree');
let manifest: RootManifest;
let nginx: NginxServer;
let daemon: string;
let image: Buffer;

const indexFile = () => join(pub, manifest.index.path);
const index = () => ['--index-sha256', manifest.index.sha256, '--index-size', String(manifest.index.size)];
const sources = (...urls: string[]) => [...urls.flatMap((u) => ['--source', u]), ...index()];

/** Asynchronously: the fault server runs in this process, and a blocking read would stall it. */
async function readAll(d: MountedBlockd): Promise<Buffer> {
  return readFile(d.image);
}

describe.skipIf(!ROOT_USER)('the block daemon when a source fails (FUSE mounts need root)', () => {
  let fault: FaultServer;

  beforeAll(async () => {
    ({ manifest, nginx, daemon } = await publishedLean('blockd-failover', pub));
    const d = await startBlockd(daemon, sources(nginx.url('')));
    try {
      image = await readAll(d);
    } finally {
      await d.stop();
    }
  }, scaled(600_000));

  afterAll(async () => {
    await nginx?.stop();
    await fault?.stop();
  });

  /** The fault server's MODE/N/ as the first source, nginx as the second: the whole image read
   * right, with no block failed. Returns what the daemon said. */
  async function throughFault(mode: string, ...extra: string[]): Promise<string> {
    fault = await startFaultServer({ root: pub });
    const d = await startBlockd(daemon, [...sources(`http://127.0.0.1:${fault.port}/${mode}/`, nginx.url('')), ...extra]);
    try {
      expect((await readAll(d)).equals(image)).toBe(true);
      expect(d.stats().blocks_failed).toBe(0);
    } finally {
      await d.stop();
      await fault.stop();
    }
    return d.log();
  }

  it('a source that sends wrong bytes: the next one serves the image, and the bad one is not asked again', async () => {
    // Its index is refused too (wrong bytes); the daemon takes it from nginx.
    const log = await throughFault('wrong/0', '--parallel', '4');
    const said = log.match(/from http:\/\/127\.0\.0\.1:\d+\/wrong\/0\/blocks\/\S+: .*: that source is not asked again this boot while another is left; moving to http:\/\/127\.0\.0\.1:\d+\//g) ?? [];
    expect(said, log).toHaveLength(1);
    // At most the requests that were in flight when the first wrong block came back.
    const blockRequests = fault.requests.filter((r) => r.includes('/blocks/'));
    expect(blockRequests.length).toBeGreaterThan(0);
    expect(blockRequests.length).toBeLessThanOrEqual(4);
  }, scaled(180_000));

  it('a source that dies after 20 requests: the rest comes from the next, said once', async () => {
    const log = await throughFault('dies/20');
    expect(fault.requests.filter((r) => r.includes('/dies/20/')).length).toBeGreaterThan(20);
    expect(log.match(/from http:\/\/127\.0\.0\.1:\d+\/dies\/20\/blocks\/\S+: .*; moving to /g) ?? [], log).toHaveLength(1);
  }, scaled(180_000));

  it('a source that stalls: the next one serves the image once the stall is noticed', async () => {
    const log = await throughFault('stall/100', '--parallel', '2');
    expect(log).toMatch(/from http:\/\/127\.0\.0\.1:\d+\/stall\/100\/blocks\/\S+: .*; moving to /);
  }, scaled(180_000));

  it('every source gone: an I/O error naming the block; the server back, the daemon fetches it by itself', async () => {
    const port = await freePort();
    // The index from nginx, the blocks from a port where nothing listens yet.
    const d = await startBlockd(daemon, sources(`http://127.0.0.1:${port}/`, nginx.url('')));
    let back: NginxServer | undefined;
    try {
      await nginx.stop();
      const r = await ddBlock(d.image, indexFile(), 7);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/Input\/output error/);
      expect(d.log()).toMatch(/block 7 \([0-9a-f]{64}\) refused or unreachable on every source/);
      // A server answers again where the first source was: no read asks for the block, the
      // daemon's background retry (every 5 s) fetches it.
      back = await startNginx({ root: pub, name: 'blockd-failover-back', port });
      const deadline = Date.now() + scaled(30_000);
      // Every block the read touched failed (block 7, and the one sharing its first page).
      const failed = () => new Set(d.log().match(/block \d+ \([0-9a-f]{64}\) refused or unreachable/g)).size;
      while (d.stats().retries === 0 || (d.stats().blocks_fetched ?? 0) < failed()) {
        if (Date.now() > deadline) throw new Error(`no background retry:\n${d.log()}`);
        await new Promise((res) => setTimeout(res, 500));
      }
      // Block 7 is served from RAM now: the server is not asked for it again (a neighbour the
      // failed read never reached may be).
      const name = indexBlockNames(readFileSync(indexFile()), indexFile())[7]!;
      expect(accessLogRequests(back.accessLog).filter((q) => q.path === `/blocks/${name}`)).toHaveLength(1);
      const ok = await ddBlock(d.image, indexFile(), 7);
      expect(ok.exitCode, ok.stderr).toBe(0);
      expect(accessLogRequests(back.accessLog).filter((q) => q.path === `/blocks/${name}`)).toHaveLength(1);
      expect(d.log().match(/block 7 \([0-9a-f]{64}\) refused or unreachable/g)).toHaveLength(1);
    } finally {
      await d.stop();
      await back?.stop();
      nginx = await startNginx({ root: pub, name: 'blockd-failover-nginx' });
    }
  }, scaled(180_000));
});
