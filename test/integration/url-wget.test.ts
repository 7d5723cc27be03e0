/**
 * The URL grammar (src/config/url.ts) against the real downloader of the preboot, the host's
 * BusyBox wget (the same 1.35 build as the preboot's busybox-static): every URL the config
 * accepts is fetched by wget exactly as written, and the URLs the WHATWG parser accepts but the
 * config refuses are shown to fail or to be read differently by wget. The server is a small TCP
 * server on 127.0.0.1 that answers every request with what it received.
 */
import { createServer, type Server } from 'node:net';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFetchUrl } from '../../src/config/url.js';
import { urlPathArbitrary } from '../hostile/arbitraries.js';
import { scaled } from '../helpers/timeouts.js';

interface Seen {
  target: string;
  host: string;
  authorization?: string;
}

let server: Server;
let port = 0;
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    let head = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const target = (lines[0] ?? '').replace(/^GET /, '').replace(/ HTTP\/1\.[01]$/, '');
      const header = (name: string) => lines.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}: `))?.slice(name.length + 2);
      const s: Seen = { target, host: header('Host') ?? '', authorization: header('Authorization') };
      seen.push(s);
      const body = Buffer.from(JSON.stringify(s), 'latin1');
      socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body]));
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function wget(url: string): Promise<{ code: number; seen?: Seen; stderr: string }> {
  const r = await execa('busybox', ['wget', '-q', '-O', '-', url], { reject: false, encoding: 'latin1', timeout: scaled(10_000) });
  return { code: r.exitCode ?? -1, seen: r.exitCode === 0 ? (JSON.parse(r.stdout) as Seen) : undefined, stderr: r.stderr };
}

describe('every URL the config accepts is fetched by BusyBox wget as written', () => {
  it('random paths and queries on 127.0.0.1 (property, real wget)', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('http', 'HTTP', 'Http'), urlPathArbitrary(), async (scheme, rest) => {
        const r = checkFetchUrl(`${scheme}://127.0.0.1:${port}${rest}`);
        if (!r.ok) return;
        accepted++;
        const origin = `http://127.0.0.1:${port}`;
        expect(r.url.startsWith(origin)).toBe(true);
        const got = await wget(r.url);
        expect(got.code, `${r.url}: ${got.stderr}`).toBe(0);
        expect(got.seen).toEqual({ target: r.url.slice(origin.length) || '/', host: `127.0.0.1:${port}` });
      }),
      { numRuns: 300 },
    );
    // The generator must mostly produce URLs worth fetching, or the property proves little.
    expect(accepted).toBeGreaterThan(150);
  }, scaled(120_000));
});

describe('URLs the WHATWG parser takes but wget does not fetch as meant: refused, or written the way wget reads them', () => {
  const P = () => port;
  it.each([
    ['an upper-case scheme', () => `HTTP://127.0.0.1:${P()}/x`, (g: Awaited<ReturnType<typeof wget>>) => expect(g.stderr).toContain('not an http or ftp url')],
    ['no "//"', () => `http:127.0.0.1:${P()}/x`, (g: Awaited<ReturnType<typeof wget>>) => expect(g.stderr).toContain(`bad address 'http:127.0.0.1:${P()}'`)],
    ['one "/"', () => `http:/127.0.0.1:${P()}/x`, (g: Awaited<ReturnType<typeof wget>>) => expect(g.stderr).toContain("bad port ''")],
    ['three "/"', () => `http:///127.0.0.1:${P()}/x`, (g: Awaited<ReturnType<typeof wget>>) => expect(g.stderr).toContain("bad address ''")],
    ['a fragment', () => `http://127.0.0.1:${P()}/x#frag`, (g: Awaited<ReturnType<typeof wget>>) => expect(g.seen?.target).toBe('/x#frag')],
    ['a query without a path', () => `http://127.0.0.1:${P()}?q=1`, (g: Awaited<ReturnType<typeof wget>>) => expect(g.seen?.target).toBe('/q=1')],
    ['user and password', () => `http://u:p@127.0.0.1:${P()}/x`, (g: Awaited<ReturnType<typeof wget>>) => expect(g.seen?.authorization).toBe('Basic dTpw')],
    ['a short IPv4 form', () => `http://127.1:${P()}/x`, (g: Awaited<ReturnType<typeof wget>>) => expect(g.seen?.host).toBe(`127.1:${P()}`)],
    ['a non-ASCII path', () => `http://127.0.0.1:${P()}/é`, (g: Awaited<ReturnType<typeof wget>>) => expect(g.seen?.target).toBe('/\xc3\xa9')],
  ])('%s', async (_what, url, wgetDoes) => {
    const u = url();
    expect(() => new URL(u)).not.toThrow();
    wgetDoes(await wget(u));
    const r = checkFetchUrl(u);
    if (r.ok) {
      // Accepted only as rewritten, and the rewritten URL is fetched as meant.
      expect(r.url).not.toBe(u);
      const got = await wget(r.url);
      expect(got.code, got.stderr).toBe(0);
      expect(got.seen?.target).toBe(new URL(u).pathname + new URL(u).search);
    } else {
      expect(r.message).not.toBe('');
    }
  });
});
