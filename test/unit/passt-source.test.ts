/**
 * What bench/passt.ts reads from the Debian mirror before it builds passt: the checksum lists of
 * a Release file and a Sources stanza, the passt stanza among others, and a GET that refuses an
 * error status and an answer larger than its bound (declared or not). The server is Node's, on
 * 127.0.0.1. And each refusal before anything is used: a file whose size or sha256 is not what
 * the index says, an InRelease that gpgv (the real one) does not accept, a passt stanza without
 * the pool folder or the tarball.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { boundedGet, checksumLines, passtSource, signedRelease, sourceStanza, verify } from '../../bench/passt.js';
import { sha256Hex } from '../../src/files/hash.js';
import { testTempDir } from '../helpers/temp.js';

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

it('verify refuses a size or a sha256 other than the index says', () => {
  const data = Buffer.from('tarball');
  const sha = sha256Hex(data);
  expect(() => verify('t.tar.xz', data, sha, 7)).not.toThrow();
  expect(() => verify('t.tar.xz', data, sha, 8)).toThrow(`t.tar.xz: 7 bytes, sha256 ${sha}; the signed index says 8 bytes, sha256 ${sha}`);
  expect(() => verify('t.tar.xz', data, H1, 7)).toThrow(`t.tar.xz: 7 bytes, sha256 ${sha}; the signed index says 7 bytes, sha256 ${H1}`);
});

it('signedRelease refuses an InRelease without a good signature, and writes nothing', async () => {
  const dir = testTempDir('inetboot-passt-');
  const inRelease = join(dir, 'InRelease');
  writeFileSync(inRelease, `Origin: Debian\nSHA256:\n ${H1} 123 main/source/Sources.xz\n`);
  await expect(signedRelease(inRelease, join(dir, 'Release'), 'http://mirror/dists/x/InRelease')).rejects.toThrow(
    'the signature of http://mirror/dists/x/InRelease is not good with /usr/share/keyrings/debian-archive-keyring.gpg (apt-get install debian-archive-keyring brings Debian 13\'s key): ',
  );
  expect(existsSync(join(dir, 'Release'))).toBe(false);
});

it('passtSource takes the tarball from the pool folder of the stanza, and refuses a stanza without them', () => {
  const good = `Package: passt\nVersion: 0.0~git1-2\nDirectory: pool/main/p/passt\nChecksums-Sha256:\n ${H1} 100 passt_0.0~git1.orig.tar.xz\n ${H2} 9 passt_0.0~git1-2.debian.tar.xz`;
  expect(passtSource(good, 'trixie')).toEqual({ version: '0.0~git1-2', path: 'pool/main/p/passt/passt_0.0~git1.orig.tar.xz', sha256: H1, size: 100 });
  const refused = "Debian trixie's Sources has no usable passt stanza";
  expect(() => passtSource(undefined, 'trixie')).toThrow(refused);
  expect(() => passtSource(good.replace('pool/main/p/passt', 'pool/main/p/passt/../../../x'), 'trixie')).toThrow(refused);
  expect(() => passtSource(good.replace('passt_0.0~git1.orig', 'passt_0.0~git1.other'), 'trixie')).toThrow(refused);
  expect(() => passtSource(good.replace(/^Version: .*$/m, ''), 'trixie')).toThrow(refused);
});
