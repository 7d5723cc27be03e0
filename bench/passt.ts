/**
 * The passt that bench/delayed-link.ts runs: built from the source package of Debian 13's passt
 * (PASST_SUITE), fetched from the Debian mirror of this machine's apt sources and checked the
 * way apt checks it: InRelease's signature against Debian's archive keyring (gpgv), Sources.xz
 * against InRelease's SHA256 list, the source tarball against Sources.
 *
 * Why not Debian 12's own passt (0.0~git20230309, a binary package): at 50 ms its TCP towards
 * the guest falls apart. Measured on the 200 MB row with the tiny preboot (a capture with
 * passt's --pcap): within 0.3 s of the first download passt's own sequence of segments to the
 * guest skips ranges (48 KB once, then more), the guest answers with duplicate ACKs, and every
 * duplicate ACK makes this version resend all it has in flight (tcp_data_from_tap(): one ACK
 * equal to the last with the same window is a "fast re-transmit"): 418 MB sent to the guest
 * for the 8.2 MB kernel, 1.2 MB/s, and the next connection reset. With --debug it died of a
 * segfault inside libc at the first connection. Debian 13's (0.0~git20250503) carried the
 * same boot at 15.8 MB/s, 217 MB of frames (headers included) for 209 MB of files: nothing
 * resent. Its binary needs glibc 2.38, Debian 12 has 2.36: so it is built here from its
 * source (plain `make`, no libraries; about 30 s on 2 cores). Debian's two patches are not applied: one is a UDP fix, the other
 * AppArmor profiles (debian/patches of the source package); neither touches TCP or the tap
 * side.
 *
 * Cached in cacheDir/passt/PASST_SUITE/ (the binary and .complete, which names the version):
 * the index is read only when that is missing.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { run } from '../src/exec/run.js';
import { replaceDirectory } from '../src/files/replace.js';
import { sha256Hex } from '../src/files/hash.js';
import { debianMirror } from '../test/helpers/debian-root.js';

export const PASST_SUITE = 'trixie';
/** The keyring apt itself trusts (debian-archive-keyring, a dependency of apt). */
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
/** Upper bounds for what is read from the mirror: a larger answer is refused, not stored. */
const MAX_BYTES = { inRelease: 1 << 20, sourcesXz: 64 << 20, orig: 16 << 20 } as const;

export interface Passt {
  binary: string;
  /** Debian's version of the source package it was built from. */
  version: string;
}

/** GETs url into memory: refuses a status other than 200 and more than maxBytes. */
export async function boundedGet(url: string, maxBytes: number): Promise<Buffer> {
  const res = await fetch(url, { signal: AbortSignal.timeout(300_000) });
  if (res.status !== 200 || !res.body) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > maxBytes) throw new Error(`GET ${url}: ${declared} bytes, more than the ${maxBytes} this reads`);
  const parts: Buffer[] = [];
  let got = 0;
  for await (const chunk of res.body) {
    got += chunk.length;
    if (got > maxBytes) throw new Error(`GET ${url}: more than the ${maxBytes} bytes this reads`);
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

/** `data` must have this size and sha256, or nothing is used. */
export function verify(what: string, data: Buffer, sha256: string, size: number): void {
  const got = sha256Hex(data);
  if (data.length !== size || got !== sha256) {
    throw new Error(`${what}: ${data.length} bytes, sha256 ${got}; the signed index says ${size} bytes, sha256 ${sha256}`);
  }
}

/** Writes the signed part of `inRelease` to `release` (gpgv), or refuses a signature that is not good. `url`: where it came from, for the message. */
export async function signedRelease(inRelease: string, release: string, url: string, keyring = KEYRING): Promise<void> {
  await run('gpgv', ['--keyring', keyring, '--output', release, inRelease]).catch((e: Error) => {
    throw new Error(`the signature of ${url} is not good with ${keyring} (apt-get install debian-archive-keyring brings Debian 13's key): ${e.message}`);
  });
}

/** What a Sources stanza says of passt's source: its version, and the orig tarball's path in the pool with its sha256 and size. */
export function passtSource(stanza: string | undefined, suite: string): { version: string; path: string; sha256: string; size: number } {
  const version = stanza && /^Version: (\S+)$/m.exec(stanza)?.[1];
  const directory = stanza && /^Directory: (\S+)$/m.exec(stanza)?.[1];
  const orig = stanza ? checksumLines(stanza, 'Checksums-Sha256').find(([, , name]) => /^passt_[^/]+\.orig\.tar\.xz$/.test(name)) : undefined;
  if (!version || directory !== 'pool/main/p/passt' || !orig) throw new Error(`Debian ${suite}'s Sources has no usable passt stanza`);
  return { version, path: `${directory}/${orig[2]}`, sha256: orig[0], size: orig[1] };
}

/**
 * The lines of a deb822 field (e.g. SHA256 of a Release file, Checksums-Sha256 of a Sources
 * stanza) as [sha256, size, name] triples.
 */
export function checksumLines(stanza: string, field: string): [string, number, string][] {
  const m = new RegExp(`^${field}:[^\\n]*\\n((?:[ \\t][^\\n]*\\n?)*)`, 'm').exec(stanza);
  if (!m) return [];
  return m[1]!
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f): f is [string, string, string] => f.length === 3 && /^[0-9a-f]{64}$/.test(f[0]!) && /^\d+$/.test(f[1]!))
    .map(([h, s, n]) => [h, Number(s), n]);
}

/** The stanza of a Sources file whose Package is `pkg` (the first, if several). */
export function sourceStanza(sources: string, pkg: string): string | undefined {
  return sources.split(/\n\n+/).find((s) => new RegExp(`^Package: ${pkg}$`, 'm').test(s));
}

/** passt built from Debian PASST_SUITE's source package, made now if the cache lacks it. */
export async function passtFromSource(cacheDir: string, say: (line: string) => void = console.log): Promise<Passt> {
  const dir = join(cacheDir, 'passt', PASST_SUITE);
  const done = join(dir, '.complete');
  if (existsSync(done)) return { binary: join(dir, 'passt'), version: readFileSync(done, 'utf8').trim() };

  const mirror = debianMirror().replace(/\/+$/, '');
  const dists = `${mirror}/dists/${PASST_SUITE}`;
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, '.passt-'));
  try {
    say(`passt: reading Debian ${PASST_SUITE}'s source index`);
    writeFileSync(join(work, 'InRelease'), await boundedGet(`${dists}/InRelease`, MAX_BYTES.inRelease));
    await signedRelease(join(work, 'InRelease'), join(work, 'Release'), `${dists}/InRelease`);
    const release = readFileSync(join(work, 'Release'), 'utf8');
    const sourcesEntry = checksumLines(release, 'SHA256').find(([, , name]) => name === 'main/source/Sources.xz');
    if (!sourcesEntry) throw new Error(`${dists}/InRelease lists no main/source/Sources.xz`);
    const sourcesXz = await boundedGet(`${dists}/main/source/Sources.xz`, MAX_BYTES.sourcesXz);
    verify(`${dists}/main/source/Sources.xz`, sourcesXz, sourcesEntry[0], sourcesEntry[1]);
    writeFileSync(join(work, 'Sources.xz'), sourcesXz);
    await run('xz', ['-d', join(work, 'Sources.xz')]);
    const { version, path, sha256, size } = passtSource(sourceStanza(readFileSync(join(work, 'Sources'), 'utf8'), 'passt'), PASST_SUITE);
    const tarballName = path.split('/').pop()!;

    say(`passt: building Debian ${PASST_SUITE}'s passt ${version} from source`);
    const tarball = await boundedGet(`${mirror}/${path}`, MAX_BYTES.orig);
    verify(tarballName, tarball, sha256, size);
    writeFileSync(join(work, tarballName), tarball);
    const src = join(work, 'src');
    mkdirSync(src);
    await run('tar', ['-xJf', join(work, tarballName), '-C', src, '--no-same-owner']);
    const [top] = readdirSync(src);
    if (!top) throw new Error(`${tarballName} is empty`);
    // VERSION is what `passt --version` prints; upstream's Makefile takes it from git otherwise.
    const upstream = version.replace(/^\d+:/, '').replace(/-[^-]+$/, '');
    await run('nice', ['make', '-C', join(src, top), `-j${availableParallelism()}`, 'passt', `VERSION=${upstream}`], {
      logFile: join(work, 'make.log'),
    });
    await replaceDirectory(dir, async (tmp) => {
      copyFileSync(join(src, top, 'passt'), join(tmp, 'passt'));
      chmodSync(join(tmp, 'passt'), 0o755);
      writeFileSync(join(tmp, '.complete'), `${version}\n`);
    });
    return { binary: join(dir, 'passt'), version };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
