/**
 * The real Debian 12 system the lazy-root tests publish and boot: `debootstrap --variant=minbase
 * --include=systemd-sysv,udev,linux-image-amd64,iproute2,python3,perl,g++,git,vim bookworm`, from the Debian
 * mirror this machine's apt sources name (read at run time: no mirror host is written in this
 * repository). udev is in the list because without it no device unit appears, and systemd's
 * serial getty (BindsTo dev-ttyS0.device) would never print `login:`; python3, perl, g++, git and vim
 * make it the size of a small server (an image larger than the RAM test's -m: test/boot/root.test.ts),
 * most of which a boot never reads.
 *
 * Then what an image builder does: the downloaded packages are removed (apt-get clean), the
 * machine-id emptied (the target makes its own), and root's password emptied so that the tests
 * can log in on the serial console and look at the mounts (Debian's pam_unix allows an empty
 * password: `nullok`). A test system only: never publish a root with an empty password.
 *
 * Made once into the cache (~/.cache/inetboot/debian-root/KEY/root, 3-5 minutes) and reused;
 * KEY changes with the recipe. Needs root (debootstrap), as CI runs.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { longBuild, run } from '../../src/exec/run.js';
import { fetchDebianDeb } from '../../src/pipeline/preboot/kernel-package.js';
import { defaultCacheDir } from '../../src/paths.js';

export const DEBIAN_SUITE = 'bookworm';
const INCLUDE = ['systemd-sysv', 'udev', 'linux-image-amd64', 'iproute2', 'python3', 'perl', 'g++', 'git', 'vim'];
const RECIPE = `debootstrap --variant=minbase --include=${INCLUDE.join(',')} ${DEBIAN_SUITE}; apt-get clean; empty machine-id and root password (3)`;

/** The first "deb" URI of the apt sources that carries the suite's main component. */
export function debianMirror(): string {
  const entries: { types: string[]; uris: string[]; suites: string[]; components: string[] }[] = [];
  const dir = '/etc/apt/sources.list.d';
  for (const f of existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.sources')) : []) {
    for (const stanza of readFileSync(join(dir, f), 'utf8').split(/\n\s*\n/)) {
      const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      entries.push({ types: field('Types'), uris: field('URIs'), suites: field('Suites'), components: field('Components') });
    }
  }
  for (const f of ['/etc/apt/sources.list', ...(existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.list')).map((n) => join(dir, n)) : [])]) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$/.exec(line);
      if (m) entries.push({ types: ['deb'], uris: [m[1]!], suites: [m[2]!], components: m[3]!.trim().split(/\s+/) });
    }
  }
  const hit = entries.find((e) => e.types.includes('deb') && e.suites.includes(DEBIAN_SUITE) && e.components.includes('main') && e.uris.length > 0);
  if (!hit) throw new Error(`no apt source of this machine carries "deb ... ${DEBIAN_SUITE} main": the Debian root cannot be made`);
  return hit.uris[0]!;
}

/** The path of the Debian root, made now if the cache does not hold it. */
export async function debianRoot(): Promise<string> {
  const key = createHash('sha256').update(RECIPE).digest('hex').slice(0, 12);
  const base = join(defaultCacheDir(), 'debian-root', key);
  const root = join(base, 'root');
  if (existsSync(join(base, '.complete'))) return root;
  rmSync(base, { recursive: true, force: true });
  mkdirSync(base, { recursive: true });
  await longBuild('debootstrap', ['--variant=minbase', `--include=${INCLUDE.join(',')}`, DEBIAN_SUITE, root, debianMirror()], { logFile: join(base, 'debootstrap.log') });
  const archives = join(root, 'var', 'cache', 'apt', 'archives');
  for (const f of readdirSync(archives)) if (f.endsWith('.deb')) rmSync(join(archives, f));
  for (const f of ['pkgcache.bin', 'srcpkgcache.bin']) rmSync(join(root, 'var', 'cache', 'apt', f), { force: true });
  // Nothing machine-specific from this run in the image: the target makes its own at boot.
  writeFileSync(join(root, 'etc', 'machine-id'), '');
  const shadow = join(root, 'etc', 'shadow');
  writeFileSync(shadow, readFileSync(shadow, 'utf8').replace(/^root:[^:]*:/m, 'root::'));
  writeFileSync(join(base, '.complete'), `${RECIPE}\n`);
  return root;
}

/**
 * ROOT with one more Debian package installed, as a new version of a system is made: an overlay
 * over ROOT (which stays as it is) in DIR/merged, and `dpkg -i` of PKG's .deb (apt-get download,
 * kept in inetboot's cache) run in it by chroot. `hello` depends only on libc6: one package, its
 * files in a dozen folders, and dpkg's own records. Returns the merged root and how to unmount it.
 */
export async function withOnePackage(root: string, dir: string, pkg = 'hello'): Promise<{ root: string; done: () => Promise<void> }> {
  const merged = join(dir, 'merged');
  await run('umount', [merged], { okExitCodes: [0, 1, 32] });
  rmSync(dir, { recursive: true, force: true });
  for (const d of ['upper', 'work', 'merged']) mkdirSync(join(dir, d), { recursive: true });
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${root},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`, merged]);
  try {
    const deb = await fetchDebianDeb(pkg, defaultCacheDir());
    copyFileSync(deb, join(merged, 'tmp', 'one-package.deb'));
    await run('chroot', [merged, 'dpkg', '-i', '/tmp/one-package.deb']);
    rmSync(join(merged, 'tmp', 'one-package.deb'));
  } catch (err) {
    await run('umount', [merged], { okExitCodes: [0, 1, 32] });
    throw err;
  }
  return { root: merged, done: async () => void (await run('umount', [merged])) };
}
