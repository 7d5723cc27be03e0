/**
 * What bench/passt.ts reads from the Debian mirror before it builds passt: the checksum lists of
 * a Release file and a Sources stanza, the passt stanza among others, and a GET that refuses an
 * error status and an answer larger than its bound (declared or not). The server is Node's, on
 * 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { boundedGet, checksumLines, sourceStanza } from '../../bench/passt.js';

const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);

it('checksumLines reads the named field only, and only well-formed lines', () => {
  const release = [
    'Origin: Debian',
    'MD5Sum:',
    ` ${'c'.repeat(32)} 10 main/source/Sources.xz`,
    'SHA256:',
    ` ${H1}   123 main/source/Sources.xz`,
    ` ${H2} 45 main/binary-amd64/Packages.xz`,
    ' not-a-hash 7 main/x',
    ` ${H1} 12x main/y`,
    'Acquire-By-Hash: yes',
    ` ${H2} 9 not/in/the/field`,
  ].join('\n');
  expect(checksumLines(release, 'SHA256')).toEqual([
    [H1, 123, 'main/source/Sources.xz'],
    [H2, 45, 'main/binary-amd64/Packages.xz'],
  ]);
  expect(checksumLines(release, 'Checksums-Sha256')).toEqual([]);
});

it('sourceStanza finds the package by its exact name', () => {
  const sources = [
    'Package: passt-extra\nVersion: 1\n',
    'Package: passt\nVersion: 0.0~git20250503.587980c-2\nDirectory: pool/main/p/passt\nChecksums-Sha256:\n ' + `${H1} 261392 passt_0.0~git20250503.587980c.orig.tar.xz`,
    'Package: other\nVersion: 2\n',
  ].join('\n\n');
  const stanza = sourceStanza(sources, 'passt');
  expect(stanza).toMatch(/^Version: 0\.0~git20250503\.587980c-2$/m);
  expect(checksumLines(stanza!, 'Checksums-Sha256')).toEqual([[H1, 261392, 'passt_0.0~git20250503.587980c.orig.tar.xz']]);
  expect(sourceStanza(sources, 'pass')).toBeUndefined();
});

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ok') return void res.end('twelve bytes');
    if (req.url === '/declared') {
      res.writeHead(200, { 'content-length': '100' });
      return void res.end('x'.repeat(100));
    }
    if (req.url === '/undeclared') {
      // Chunked: no length announced, only the bytes tell.
      res.writeHead(200);
      res.write('x'.repeat(60));
      return void res.end('x'.repeat(60));
    }
    res.writeHead(404).end('no');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

it('boundedGet returns the body within its bound', async () => {
  expect((await boundedGet(`${base}/ok`, 12)).toString()).toBe('twelve bytes');
});

it('boundedGet refuses an error status, a declared length over the bound, and more bytes than the bound', async () => {
  await expect(boundedGet(`${base}/missing`, 100)).rejects.toThrow(`GET ${base}/missing: HTTP 404`);
  await expect(boundedGet(`${base}/declared`, 99)).rejects.toThrow(`GET ${base}/declared: 100 bytes, more than the 99 this reads`);
  await expect(boundedGet(`${base}/undeclared`, 100)).rejects.toThrow(`GET ${base}/undeclared: more than the 100 bytes this reads`);
  expect((await boundedGet(`${base}/undeclared`, 120)).length).toBe(120);
});
