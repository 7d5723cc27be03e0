/**
 * `inetboot serve`: the server on 127.0.0.1 (port 0), asked with Node's fetch and, for paths
 * that fetch would normalise, with http.request and a raw socket; then the real CLI
 * (`node bin/inetboot.js serve DIR --port 0`), stopped with SIGTERM.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OperationError, UsageError } from '../../src/errors.js';
import { startStaticServer, type AccessLogEntry, type StaticServer } from '../../src/serve/server.js';
import { bin, spawnBin } from '../helpers/cli.js';
import { scaled } from '../helpers/timeouts.js';

const BODY = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) % 256));

let top: string;
let dir: string;
let server: StaticServer;
const log: AccessLogEntry[] = [];

beforeAll(async () => {
  top = mkdtempSync(join(tmpdir(), 'inetboot-serve-'));
  dir = join(top, 'www');
  mkdirSync(join(dir, 'blocks', 'ab'), { recursive: true });
  writeFileSync(join(dir, 'blob.bin'), BODY);
  writeFileSync(join(dir, 'root.json'), '{"v":1}\n');
  writeFileSync(join(dir, 'empty'), '');
  writeFileSync(join(dir, 'blocks', 'ab', 'cd'), 'block');
  writeFileSync(join(top, 'secret'), 'outside DIR');
  symlinkSync(join(top, 'secret'), join(dir, 'out-link'));
  symlinkSync('blob.bin', join(dir, 'in-link'));
  symlinkSync(top, join(dir, 'out-dir'));
  server = await startStaticServer({ root: dir, port: 0, onRequest: (e) => log.push(e) });
});

afterAll(async () => {
  await server?.close();
  rmSync(top, { recursive: true, force: true });
});

const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;
const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(url(path), { method, headers, signal: AbortSignal.timeout(scaled(10_000)) });
const bytes = async (r: Response) => Buffer.from(await r.arrayBuffer());

/** A request whose path goes out exactly as written (fetch would resolve "..", and refuses some bytes). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The request line and headers as bytes on a socket: nothing between the test and the server changes them. */
function rawSocket(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port: server.port }, () => sock.end(text));
    let out = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (out += d));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}

/** The log entry of the last request for `path` (written when the response has closed). */
async function logOf(path: string): Promise<AccessLogEntry> {
  for (let i = 0; i < 100; i++) {
    const e = log.filter((l) => l.path === path).at(-1);
    if (e) return e;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no access-log entry for ${path}: ${JSON.stringify(log)}`);
}

describe('inetboot serve: the server', () => {
  test('listens on 127.0.0.1 and names the guest URL', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    expect(server.guestUrl).toBe(`http://10.0.2.2:${server.port}/`);
    expect(server.port).toBeGreaterThan(0);
  });

  test('GET: the whole file with Content-Length, Accept-Ranges, ETag, Last-Modified; and a log entry', async () => {
    const r = await get('/blob.bin');
    expect(r.status).toBe(200);
    expect((await bytes(r)).equals(BODY)).toBe(true);
    expect(r.headers.get('content-length')).toBe('1000');
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(r.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(new Date(r.headers.get('last-modified')!).getTime()).toBeGreaterThan(0);
    expect(await logOf('/blob.bin')).toEqual({ method: 'GET', path: '/blob.bin', status: 200, bytes: 1000, aborted: false });
    const json = await get('/root.json');
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.text()).toBe('{"v":1}\n');
  });

  test('HEAD: the headers GET would have, no body, 0 bytes logged', async () => {
    const r = await get('/blob.bin?head', {}, 'HEAD');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe('1000');
    expect((await bytes(r)).length).toBe(0);
    expect(await logOf('/blob.bin?head')).toMatchObject({ method: 'HEAD', status: 200, bytes: 0 });
  });

  test('ranges: bytes=A-B, bytes=A-, bytes=-N are 206 with Content-Range; past the end is 416', async () => {
    for (const [range, start, end] of [
      ['bytes=10-19', 10, 19],
      ['bytes=990-', 990, 999],
      ['bytes=-5', 995, 999],
      ['bytes=900-5000', 900, 999],
    ] as const) {
      const path = `/blob.bin?${range}`;
      const r = await get(path, { Range: range });
      expect(r.status, range).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end}/1000`);
      expect(r.headers.get('content-length')).toBe(String(end - start + 1));
      expect((await bytes(r)).equals(BODY.subarray(start, end + 1)), range).toBe(true);
      expect(await logOf(path)).toMatchObject({ status: 206, bytes: end - start + 1 });
    }
    for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0']) {
      const r = await get('/blob.bin', { Range: range });
      expect(r.status, range).toBe(416);
      expect(r.headers.get('content-range')).toBe('bytes */1000');
    }
    expect((await get('/empty', { Range: 'bytes=0-' })).status).toBe(416);
    // Several ranges are answered with the whole file (allowed, and nothing inetboot runs asks for them).
    const multi = await get('/blob.bin', { Range: 'bytes=0-1,5-6' });
    expect(multi.status).toBe(200);
    expect((await bytes(multi)).length).toBe(1000);
    const head = await get('/blob.bin', { Range: 'bytes=0-9' }, 'HEAD');
    expect([head.status, head.headers.get('content-length'), head.headers.get('content-range')]).toEqual([206, '10', 'bytes 0-9/1000']);
  });

  test('ETag: If-None-Match gives 304 without a body; a changed file gets a new ETag; If-Range that does not match gives the whole file', async () => {
    const first = await get('/blob.bin');
    await first.arrayBuffer();
    const etag = first.headers.get('etag')!;
    const lastModified = first.headers.get('last-modified')!;
    const again = await get('/blob.bin?inm', { 'If-None-Match': etag });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect((await bytes(again)).length).toBe(0);
    expect(await logOf('/blob.bin?inm')).toMatchObject({ status: 304, bytes: 0 });
    expect((await get('/blob.bin', { 'If-None-Match': `"other", W/${etag}` })).status).toBe(304);
    expect((await get('/blob.bin', { 'If-None-Match': '"other"' })).status).toBe(200);
    expect((await get('/blob.bin', { 'If-Modified-Since': lastModified })).status).toBe(304);
    expect((await get('/blob.bin', { 'If-Modified-Since': new Date(Date.parse(lastModified) - 10_000).toUTCString() })).status).toBe(200);
    expect((await get('/blob.bin', { Range: 'bytes=0-1', 'If-Range': etag })).status).toBe(206);
    expect((await get('/blob.bin', { Range: 'bytes=0-1', 'If-Range': '"stale"' })).status).toBe(200);

    writeFileSync(join(dir, 'changing'), 'one');
    utimesSync(join(dir, 'changing'), 1_000_000, 1_000_000);
    const before = (await get('/changing')).headers.get('etag');
    writeFileSync(join(dir, 'changing'), 'two');
    const after = await get('/changing', { 'If-None-Match': before! });
    expect(after.status).toBe(200);
    expect(await after.text()).toBe('two');
    expect(after.headers.get('etag')).not.toBe(before);
  });

  test('no way out of DIR: "..", encoded "..", NUL, and symbolic links that lead out', async () => {
    for (const [path, status] of [
      ['/../secret', 403],
      ['/blocks/../../secret', 403],
      ['/%2e%2e/secret', 403],
      ['/%2E%2E%2Fsecret', 403],
      ['/blocks%2f..%2f..%2fsecret', 403],
      ['/secret%00.json', 400],
      ['/%zz', 400],
      ['/out-link', 403],
      ['/out-dir/secret', 403],
      ['//secret', 404],
      ['/%2fetc/passwd', 404],
      ['/no-such-file', 404],
    ] as const) {
      const r = await rawGet(path);
      expect(r.status, path).toBe(status);
      expect(r.body, path).not.toContain('outside DIR');
      expect(await logOf(path)).toMatchObject({ method: 'GET', status });
    }
    const raw = await rawSocket('GET /../../../../secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 403 /);
    expect(raw).not.toContain('outside DIR');
    // A link that stays inside DIR is followed.
    const inside = await get('/in-link');
    expect(inside.status).toBe(200);
    expect((await bytes(inside)).equals(BODY)).toBe(true);
  });

  test('a directory is a plain-text listing; other methods are 405 with Allow', async () => {
    const listing = await get('/');
    expect(listing.status).toBe(200);
    expect(listing.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect((await listing.text()).split('\n')).toEqual(expect.arrayContaining(['blob.bin', 'blocks/', 'root.json', 'in-link']));
    expect(await (await get('/blocks')).text()).toBe('ab/\n');
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const r = await get('/blob.bin', {}, method);
      expect(r.status, method).toBe(405);
      expect(r.headers.get('allow')).toBe('GET, HEAD');
      expect(r.headers.get('content-length')).toBe(String(Buffer.byteLength(await r.text())));
    }
    expect(log.filter((e) => e.method === 'DELETE')).toEqual([expect.objectContaining({ path: '/blob.bin', status: 405 })]);
  });

  test('a port in use is a clear failure (exit 1) naming the port; a missing DIR or a file is a usage error', async () => {
    const taken = await startStaticServer({ root: dir, port: server.port }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(taken).toBeInstanceOf(OperationError);
    expect((taken as OperationError).message).toBe(`port ${server.port} on 127.0.0.1 is in use by another program`);
    expect((taken as OperationError).hint).toContain('--port');
    await expect(startStaticServer({ root: join(top, 'no-such-dir'), port: 0 })).rejects.toThrow(UsageError);
    await expect(startStaticServer({ root: join(dir, 'blob.bin'), port: 0 })).rejects.toThrow(/is not a directory/);
  });
});

describe('inetboot serve: the CLI', () => {
  test(
    'prints both URLs, serves, logs each request on stderr, and exits 0 on SIGTERM',
    async () => {
      const child = spawnBin(['serve', dir, '--port', '0']);
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const until = Date.now() + scaled(20_000);
      while (!/\(a QEMU guest/.test(stdout)) {
        if (Date.now() > until) throw new Error(`no URL printed; stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const [hostLine, guestLine] = stdout.trim().split('\n');
      const m = /^http:\/\/127\.0\.0\.1:(\d+)\/  \(this machine\)$/.exec(hostLine ?? '');
      expect(m, stdout).not.toBeNull();
      const port = m![1]!;
      expect(guestLine).toBe(`http://10.0.2.2:${port}/  (a QEMU guest with user networking)`);
      const r = await fetch(`http://127.0.0.1:${port}/blob.bin`, { headers: { Range: 'bytes=0-99' }, signal: AbortSignal.timeout(scaled(10_000)) });
      expect(r.status).toBe(206);
      expect((await bytes(r)).equals(BODY.subarray(0, 100))).toBe(true);
      const lineUntil = Date.now() + scaled(5_000);
      while (!stderr.includes('GET /blob.bin 206 100\n') && Date.now() < lineUntil) await new Promise((res) => setTimeout(res, 20));
      child.kill('SIGTERM');
      const done = await child;
      expect(done.exitCode, String(done.stderr)).toBe(0);
      expect(String(done.stderr)).toContain(`serving ${dir} on 127.0.0.1 only`);
      expect(String(done.stderr)).toContain('GET /blob.bin 206 100\n');
      // execa drops the last newline.
      expect(String(done.stdout)).toBe(stdout.trimEnd());
      // The port is free again.
      await new Promise<void>((resolve, reject) => {
        const probe = createServer();
        probe.once('error', reject);
        probe.listen(Number(port), '127.0.0.1', () => probe.close(() => resolve()));
      });
    },
    scaled(60_000),
  );

  test('exit 2 for a DIR that is missing or a file, and for a bad --port; exit 1 when the port is taken', async () => {
    const run = async (args: string[]) => {
      const r = await bin(args);
      return { code: r.code, stderr: r.stderr + '\n' };
    };
    expect(await run(['serve', join(top, 'nope')])).toEqual({ code: 2, stderr: `inetboot: error: ${join(top, 'nope')} does not exist: name the directory to serve\n` });
    expect((await run(['serve', join(dir, 'blob.bin')])).code).toBe(2);
    expect(await run(['serve', dir, '--port', '99999'])).toEqual({ code: 2, stderr: 'inetboot: error: --port 99999: write a port number from 1 to 65535, or 0 for any free port\n' });
    const taken = await run(['serve', dir, '--port', String(server.port)]);
    expect(taken).toEqual({ code: 1, stderr: `inetboot: error: port ${server.port} on 127.0.0.1 is in use by another program\nhint: choose another with --port N, or --port 0 for any free one\n` });
  });
});
