/**
 * The preboot's download code (fetch.sh, mirrors.sh, http.sh) run by the real BusyBox sh and
 * wget on this machine, against nginx and the fault server on 127.0.0.1: the same code the
 * QEMU scenarios of test/boot/downloads.test.ts run, in seconds instead of minutes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultServer, type FaultMode, type FaultServer } from '../helpers/fault-server.js';
import { startNginx, type NginxServer } from '../helpers/nginx.js';
import { outputDir } from '../helpers/paths.js';
import { sha256 } from '../helpers/target.js';
import { scaled } from '../helpers/timeouts.js';
import { freePort } from '../helpers/ports.js';

import { fetchSources } from '../helpers/preboot-shell.js';

const DIR = 'fetch-shell';
const SIZE = 300_000;
let nginx: NginxServer;
let faults: FaultServer;
let www: string;
let blob: Buffer;
let closedPort: number;

beforeAll(async () => {
  www = join(outputDir(DIR), 'www');
  mkdirSync(www, { recursive: true });
  blob = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i++) blob[i] = (i * 7 + (i >> 8)) & 0xff;
  writeFileSync(join(www, 'blob'), blob);
  nginx = await startNginx({ root: www, name: `${DIR}-nginx` });
  faults = await startFaultServer({ root: www });
  closedPort = await freePort();
}, scaled(60_000));

afterAll(async () => {
  await nginx?.stop();
  await faults?.stop();
});

const good = () => nginx.url('blob');
const fault = (mode: FaultMode, n = 0) => `http://127.0.0.1:${faults.port}/${mode}/${n}/blob`;

/** fetch_sources over URLS (test/helpers/preboot-shell.ts), with this file's time limit. */
const fetchWith = (urls: string[], opts: { sha?: string; size?: number; cmdline?: string; names?: readonly string[]; hasher?: string } = {}) => fetchSources(urls, { ...opts, timeoutMs: scaled(60_000) });

describe('fetch_sources (BusyBox sh + wget, nginx, fault server)', () => {
  it('one good source: verified, one summary line', async () => {
    const r = await fetchWith([good()], { sha: sha256(blob) });
    expect(r.code, r.out).toBe(0);
    expect(r.file?.equals(blob)).toBe(true);
    expect(r.out).toContain(`inetboot: verified sha256 of ${good()} (${SIZE} bytes)`);
    expect(r.out).toMatch(/^inetboot: blob: 300\.0 kB in \d+\.\d\d s \([\d.]+ MB\/s\) from 127\.0\.0\.1:\d+$/m);
  });

  it('dead first mirror: measured, the live one chosen', async () => {
    const dead = `http://127.0.0.1:${closedPort}/blob`;
    const r = await fetchWith([dead, good()], { sha: sha256(blob) });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(new RegExp(`^inetboot: blob: mirror 127\\.0\\.0\\.1:${nginx.port} chosen: answered in \\d+\\.\\d\\d s \\(1 of 2 answered; 127\\.0\\.0\\.1:${closedPort}: connection refused\\)$`, 'm'));
    expect(r.out).not.toContain(`downloading ${dead}`);
  });

  it('a mirror that never answers is named with the probe limit', async () => {
    const r = await fetchWith([fault('hang'), good()], { sha: sha256(blob) });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(new RegExp(`chosen: answered in \\d+\\.\\d\\d s \\(1 of 2 answered; 127\\.0\\.0\\.1:${faults.port} did not answer within 2 s\\)$`, 'm'));
  });

  it('each server is measured once per boot: the next file reuses what its probe learned', async () => {
    const before = faults.requests.filter((q) => q.startsWith('GET /hang/')).length;
    const r = await fetchWith([fault('hang'), good()], { sha: sha256(blob), names: ['kernel', 'initrd'] });
    expect(r.code, r.out).toBe(0);
    expect(r.file?.equals(blob)).toBe(true);
    const chosen = r.out.split('\n').filter((l) => / mirror 127\.0\.0\.1:\d+ chosen: /.test(l));
    expect(chosen).toEqual([
      expect.stringMatching(new RegExp(`^inetboot: kernel: mirror 127\\.0\\.0\\.1:${nginx.port} chosen: answered in \\d+\\.\\d\\d s \\(1 of 2 answered; 127\\.0\\.0\\.1:${faults.port} did not answer within 2 s\\)$`)),
      expect.stringMatching(new RegExp(`^inetboot: initrd: mirror 127\\.0\\.0\\.1:${nginx.port} chosen: answered in \\d+\\.\\d\\d s \\(1 of 2 answered; 127\\.0\\.0\\.1:${faults.port} did not answer within 2 s, as measured earlier this boot\\)$`)),
    ]);
    // One probe of the silent server for both files, and no download from it.
    expect(faults.requests.filter((q) => q.startsWith('GET /hang/')).length - before).toBe(1);
  });

  it('an HTTP error is about the file, not the server: the next file probes that server again', async () => {
    const before = faults.requests.filter((q) => q.startsWith('GET /status/404/')).length;
    const r = await fetchWith([fault('status', 404), good()], { sha: sha256(blob), names: ['kernel', 'initrd'] });
    expect(r.code, r.out).toBe(0);
    const chosen = r.out.split('\n').filter((l) => / chosen: /.test(l));
    expect(chosen).toHaveLength(2);
    for (const l of chosen) expect(l).toMatch(new RegExp(`\\(1 of 2 answered; 127\\.0\\.0\\.1:${faults.port}: HTTP 404 Not Found\\)$`));
    expect(faults.requests.filter((q) => q.startsWith('GET /status/404/')).length - before).toBe(2);
  });

  it('HTTP 404, 500, stall, truncation with and without Content-Length, wrong bytes: each named, the good one used', async () => {
    const bad = [fault('status', 404), fault('status', 500), fault('stall', 65536), fault('truncate-cl', 65536), fault('truncate-nocl', 65536), fault('wrong', 100)];
    const r = await fetchWith([...bad, good()], { sha: sha256(blob), cmdline: 'ib.mirrors=listed' });
    expect(r.code, r.out).toBe(0);
    expect(r.file?.equals(blob)).toBe(true);
    const lines = r.out.split('\n').filter((l) => l.startsWith('inetboot: ERROR: download failed') || l.startsWith('inetboot: ERROR: sha256'));
    expect(lines).toEqual([
      `inetboot: ERROR: download failed: ${bad[0]}: HTTP 404 Not Found`,
      `inetboot: ERROR: download failed: ${bad[1]}: HTTP 500 Internal Server Error`,
      `inetboot: ERROR: download failed: ${bad[2]}: stalled: no data for 2 s after 65536 bytes (ib.stall=2)`,
      `inetboot: ERROR: download failed: ${bad[3]}: truncated: the server closed the connection after 65536 of ${SIZE} bytes`,
      `inetboot: ERROR: sha256 mismatch for ${bad[4]}`,
      `inetboot: ERROR: sha256 mismatch for ${bad[5]}`,
    ]);
  });

  it("the preboot's own sha256 checker decides: a checker that prints another digest gets a good file refused", async () => {
    const liar = join(www, '..', 'lying-sha256');
    writeFileSync(liar, `#!/bin/sh\necho ${'0'.repeat(64)}  "$1"\n`, { mode: 0o755 });
    const r = await fetchWith([good()], { sha: sha256(blob), hasher: liar });
    expect(r.code, r.out).toBe(1);
    expect(r.file).toBeUndefined();
    expect(r.out).toContain(`inetboot:   got      ${'0'.repeat(64)}`);
  });

  it("without the checker (Buildroot's preboot has none), BusyBox's sha256sum checks the file", async () => {
    const r = await fetchWith([good()], { sha: sha256(blob), hasher: '/nonexistent/inetboot-sha256' });
    expect(r.code, r.out).toBe(0);
    expect(r.file?.equals(blob)).toBe(true);
    expect(r.out).toContain(`inetboot: verified sha256 of ${good()} (${SIZE} bytes)`);
    const wrong = await fetchWith([fault('wrong', 0)], { sha: sha256(blob), hasher: '/nonexistent/inetboot-sha256', cmdline: 'ib.mirrors=listed' });
    expect(wrong.code, wrong.out).toBe(1);
    expect(wrong.out).toContain(`inetboot: ERROR: sha256 mismatch for ${fault('wrong', 0)}`);
  });

  it('all sources bad: every cause named, nothing left at DEST', async () => {
    const bad = [fault('status', 500), fault('stall', 1000), fault('wrong', 0)];
    const r = await fetchWith(bad, { sha: sha256(blob), cmdline: 'ib.mirrors=listed' });
    expect(r.code, r.out).toBe(1);
    expect(r.file).toBeUndefined();
    const tail = r.out.split('\n').slice(-4);
    expect(tail).toEqual([
      'inetboot: ERROR: no source delivered blob:',
      `inetboot:   ${bad[0]}: HTTP 500 Internal Server Error`,
      `inetboot:   ${bad[1]}: stalled: no data for 2 s after 1000 bytes (ib.stall=2)`,
      expect.stringMatching(new RegExp(`^inetboot:   ${bad[2]}: sha256 mismatch \\(${SIZE} bytes, sha256 [0-9a-f]{64}\\)$`)),
    ]);
  });

  it('a stalled transfer resumes on the same URL when the server takes ranges', async () => {
    const url = fault('stall-ranges', 100_000);
    const r = await fetchWith([url], { sha: sha256(blob) });
    expect(r.code, r.out).toBe(0);
    expect(r.file?.equals(blob)).toBe(true);
    expect(r.out).toContain('inetboot: blob: resuming at 100000 bytes (the server takes ranges)');
    expect(faults.requests.filter((q) => q.includes('/stall-ranges/'))).toContain(`GET /stall-ranges/100000/blob bytes=100000-`);
  });

  it('when every source failed: a pause, another round; a source that said 404 is not asked again', async () => {
    const missing = fault('status', 404);
    const flaky = fault('flaky', 1);
    const r = await fetchWith([missing, flaky], { sha: sha256(blob), cmdline: 'ib.mirrors=listed ib.retries=1' });
    expect(r.code, r.out).toBe(0);
    expect(r.file?.equals(blob)).toBe(true);
    const l = r.out.split('\n');
    expect(l).toContain(`inetboot: ERROR: download failed: ${flaky}: HTTP 503 Service Unavailable`);
    expect(l).toContain('inetboot: blob: every source failed; trying again in 2 s (round 2 of 2)');
    expect(l.filter((x) => x === `inetboot: downloading ${missing}`)).toHaveLength(1);
    expect(l.filter((x) => x === `inetboot: downloading ${flaky}`)).toHaveLength(2);
  });

  it('a slow download prints progress lines (bytes, percentage, rate)', async () => {
    const r = await fetchWith([fault('trickle', 10_000)], { sha: sha256(blob) });
    expect(r.code, r.out).toBe(0);
    const progress = r.out.split('\n').filter((l) => / kB of 300\.0 kB \(\d+%\), [\d.]+ MB\/s$/.test(l));
    expect(progress.length, r.out).toBeGreaterThanOrEqual(1);
    expect(progress[0]).toMatch(/^inetboot: blob: [\d.]+ kB of 300\.0 kB \(\d+%\), [\d.]+ MB\/s$/);
  });

  it('unpinned truncation without Content-Length cannot be seen: the warning says so', async () => {
    const url = fault('truncate-nocl', 65536);
    const r = await fetchWith([url]);
    expect(r.code, r.out).toBe(0);
    expect(r.file?.length).toBe(65536);
    expect(r.out).toContain(
      `inetboot: WARNING: no sha256 pinned for ${url} (65536 bytes): not verified, and the server sent no Content-Length, so a truncated file cannot be told from a whole one`,
    );
  });

  it('a pinned size catches that truncation without a hash', async () => {
    const url = fault('truncate-nocl', 65536);
    const r = await fetchWith([url], { size: SIZE });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(`inetboot: ERROR: download failed: ${url}: truncated: 65536 of ${SIZE} bytes`);
  });
});
