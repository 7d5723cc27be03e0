/**
 * A published Debian 12 root on an inetboot ISO, for the QEMU tests of lazy roots
 * (test/boot/root.test.ts, root-cache.test.ts): debootstrap (debian-root.ts) -> `inetboot
 * publish` -> nginx on 127.0.0.1 (the guest's 10.0.2.2) -> `inetboot add-entry --root` ->
 * `inetboot build-iso`; then boots of that ISO to systemd's `login:` on ttyS0, logged in as root
 * (the test root has an empty root password), with what nginx served during each boot.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { bootAndWatch, type BootResult } from '../../src/qemu/boot.js';
import { parseManifest, type RootManifest } from '../../src/pipeline/publish/manifest.js';
import { bin } from './cli.js';
import { debianRoot } from './debian-root.js';
import { accessLogRequests, startNginx, type NginxServer } from './nginx.js';
import { outputDir } from './paths.js';
import { scaled } from './timeouts.js';

export interface Published {
  sha256: string;
  image_bytes: number;
  blocks: number;
}

export interface RootMedium {
  dir: string;
  www: string;
  nginx: NginxServer;
  iso: string;
  published: Published;
  manifest: RootManifest;
}

/** Publishes the Debian test root into test-output/NAME/www, serves it and builds the ISO. */
export async function rootMedium(name: string): Promise<RootMedium> {
  const dir = outputDir(name);
  const www = join(dir, 'www');
  const root = await debianRoot();
  const pub = await bin(['publish', root, '--out', www, '--json']);
  expect(pub.code, pub.stderr).toBe(0);
  const published = JSON.parse(pub.stdout) as Published;
  const nginx = await startNginx({ root: www, name: `${name}-nginx` });
  const cfg = join(dir, 'inetboot.yaml');
  writeFileSync(cfg, 'timeout: 1\nserial: true\nentries: []\n');
  const add = await bin([
    'add-entry', '-c', cfg, '--id', 'debian12', '--title', 'Debian 12 (root over HTTP)',
    '--root', `${nginx.baseUrlForGuest}/root.json`, '--root-sha256', published.sha256, '--append', 'console=ttyS0', '--default',
  ]);
  expect(add.code, add.stderr).toBe(0);
  const iso = join(dir, 'root.iso');
  const built = await bin(['build-iso', '-c', cfg, '-o', iso]);
  expect(built.code, built.stderr).toBe(0);
  return { dir, www, nginx, iso, published, manifest: parseManifest(readFileSync(join(www, 'root.json'), 'utf8')) };
}

export interface Served {
  requests: number;
  bytes: number;
  /** Of those, what the lazy root fetched: the index and blocks/ (not the manifest, kernel, miniroot). */
  blockRequests: number;
  rootBytes: number;
  paths: string[];
}

/** What nginx sent since its access log was emptied. */
export function served(nginx: NginxServer): Served {
  const s: Served = { requests: 0, bytes: 0, blockRequests: 0, rootBytes: 0, paths: [] };
  for (const r of accessLogRequests(nginx.accessLog)) {
    s.requests++;
    s.bytes += r.bytes;
    s.paths.push(r.path);
    if (r.path.startsWith('/blocks/')) s.blockRequests++;
    if (r.path.startsWith('/blocks/') || r.path.startsWith('/index/')) s.rootBytes += r.bytes;
  }
  return s;
}

export const ROOT_CHECK = 'ROOT-CHECK';

/** Shell run on the booted system before the machine is stopped: waits until the block daemon's
 * queued cache writes are on the disk (disk_queued 0; none without a cache disk), then syncs. */
export const SETTLE = `while [ "$(awk '$1 == "disk_queued" { q = $2 } END { print q + 0 }' /run/inetboot/blocks/stats)" != 0 ]; do sleep 0.5; done; sync`;

export interface RootBoot {
  r: BootResult;
  log: string;
  loginS?: number;
  served: Served;
  /** The block daemon's counters, as printed on the console after login. */
  stats: Record<string, number>;
}

/**
 * Boots the medium's ISO (or opts.usbStick) to login:, logs in, prints the mounts and the daemon's counters, runs
 * `then` (shell commands), and ends when `ROOT-CHECK-42` appears, or `expect` if given.
 */
export async function bootRootIso(
  m: RootMedium,
  name: string,
  opts: { uefi?: boolean; memoryMiB?: number; extraArgs?: string[]; then?: string; expect?: string; usbStick?: string } = {},
): Promise<RootBoot> {
  writeFileSync(m.nginx.accessLog, '');
  const logFile = join(m.dir, `${name}.console.log`);
  let loginS: number | undefined;
  const t0 = Date.now();
  const r = await bootAndWatch({
    // The medium's ISO as a CD, or a stick image (build-iso --cache-partition) as the only disk.
    ...(opts.usbStick ? { usbStick: opts.usbStick } : { iso: m.iso }),
    uefi: opts.uefi,
    memoryMiB: opts.memoryMiB,
    expect: opts.expect ?? `${ROOT_CHECK}-42`,
    failOn: ['Kernel panic', 'ERROR: ', 'Emergency mode', 'SQUASHFS error'],
    timeoutMs: scaled(600_000),
    logFile,
    extraArgs: opts.extraArgs,
    input: [
      { when: 'login:', send: 'root\n' },
      // The shell prompt of root: "root@HOST:~# ". The marker is computed, so that its echo
      // (the typed line) does not match it.
      { when: ':~# ', send: `cat /proc/mounts; echo STATS-BEGIN; cat /run/inetboot/blocks/stats; echo STATS-END; ${opts.then ?? ''}${opts.then ? '; ' : ''}echo ${ROOT_CHECK}-$((6*7))\n` },
    ],
    onLine: (line) => {
      if (loginS === undefined && / login: /.test(line)) loginS = (Date.now() - t0) / 1000;
    },
  });
  const log = readFileSync(logFile, 'utf8').replace(/\r/g, '');
  const stats: Record<string, number> = {};
  const block = /\nSTATS-BEGIN\n([\s\S]*?)\nSTATS-END\n/.exec(log);
  for (const line of block?.[1]?.split('\n') ?? []) {
    const [k, v] = line.trim().split(' ');
    if (k && v !== undefined && /^\d+$/.test(v)) stats[k] = Number(v);
  }
  const s = served(m.nginx);
  console.log(
    `${name}: login after ${loginS?.toFixed(1) ?? '?'} s; nginx served ${s.bytes} bytes in ${s.requests} requests; of the root: ${s.rootBytes} bytes in ${s.blockRequests} blocks and the index = ${((100 * s.rootBytes) / m.published.image_bytes).toFixed(1)}% of the ${m.published.image_bytes}-byte image`,
  );
  return { r, log, loginS, served: s, stats };
}

export function expectBooted(b: RootBoot): void {
  expect(b.r.ok, `${b.r.reason} ${b.r.matched ?? ''}\n${b.r.lastLines.join('\n')}`).toBe(true);
}

/** Shell that prints the block daemon's recorded boot profile between two markers. */
export const PRINT_PROFILE = 'echo PROFILE-$((1+1))BEGIN; cat /run/inetboot/blocks/profile; echo PROFILE-$((1+1))END';

/** The block hashes a console log shows between PRINT_PROFILE's markers, as a profile file's text. */
export function profileFromConsole(log: string): string {
  const body = /PROFILE-2BEGIN\r?\n([\s\S]*?)PROFILE-2END/.exec(log)?.[1] ?? '';
  const lines = body.split(/\r?\n/).filter((l) => /^[0-9a-f]{64}$/.test(l));
  if (lines.length === 0) throw new Error('the console shows no boot profile');
  return lines.map((l) => `${l}\n`).join('');
}
