/**
 * The order of the files in the image: what a boot reads first, so that its reads fall into few
 * blocks. A lazily fetched root pays for every block a read touches (256 KiB by default), and
 * mksquashfs by default writes files in directory order, which scatters a boot's reads over the
 * whole image: measured on the Debian 12 test root, a boot touched 130 blocks (34 MB, 11% of
 * the image) spread between /boot and /var, a third of them for a few KB each.
 *
 * mksquashfs -sort FILE takes "PATH PRIORITY" lines (-32768 to 32767) and writes higher
 * priorities first; a directory's priority is inherited by everything below it that has no line
 * of its own (squashfs-tools sort.c, generate_file_priorities). The order written here, for a
 * systemd system:
 *
 *   HOT   /etc, systemd's and udev's own trees (units, rules, hwdb.bin), the top-level shared
 *         libraries of every library directory and the multiarch systemd/ (libsystemd-shared),
 *         each kernel's modules.* indexes (udev looks every device up there), the C.utf8 locale
 *   WARM  /usr/bin, /usr/sbin (and /bin, /sbin where they are directories)
 *   then  every other regular file, grouped by the Debian package that installed it (dpkg's
 *         var/lib/dpkg/info/PKG.list), packages in name order, each package's files in
 *         mksquashfs's own order (depth first, names in byte order); then the files no package
 *         owns (dpkg's and apt's state, logs, caches), in that order too
 *
 * Why by package: a new version of a root is mostly packages installed, upgraded or removed.
 * The image is cut where its content says (content-defined blocks, daemon/pack.c), so bytes
 * that move keep their blocks, and a change costs the blocks around each place it touches. A
 * package's files lie in a dozen directories (its binary, libraries, docs, man pages, one
 * translation in each of 40 locale folders): in directory order one package touched 45 blocks
 * of 256 KiB (14 MB) of the Debian 12 test root, grouped it touches a few.
 *
 * Why every other file has a line: files of one priority are written in the REVERSE of the
 * order given (measured: a, etc, z with "etc 2" come out etc, z, a); each file gets its own
 * priority, so the order is the one written here. With more files than priorities, neighbours
 * share one.
 *
 * What a boot never reads (documentation, locales, most modules, /var/lib/apt) then sits after
 * what it does. The list is a plain heuristic from file names, not a profile of a boot: a root
 * that boots otherwise still boots, only with more blocks fetched.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';

const HOT_TREES = ['etc', 'usr/lib/systemd', 'lib/systemd', 'usr/lib/udev', 'lib/udev', 'usr/lib/locale/C.utf8'];
const LIBRARY_DIRS = ['usr/lib', 'lib', 'usr/lib64', 'lib64'];
const MODULE_DIRS = ['usr/lib/modules', 'lib/modules'];
const PROGRAM_DIRS = ['usr/bin', 'usr/sbin', 'bin', 'sbin'];
const SHARED_LIBRARY_RE = /\.so(\.[0-9.]+)?$/;
const MULTIARCH_RE = /^[a-z0-9_]+-linux-gnu[a-z0-9_]*$/;

function stat(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** A directory's names in byte order, as mksquashfs reads them (strcmp). */
function names(dir: string): string[] {
  try {
    return readdirSync(dir).sort(byteOrder);
  } catch {
    return [];
  }
}

export const HOT = 32767;
export const WARM = 32766;
const COLD_TOP = 32765;
const COLD_BOTTOM = -32768;

/**
 * One path of a sort file: mksquashfs ends a name at white space and takes a backslash as "the
 * next character is part of the name"; a line starting with '#' is a comment. A name with a
 * line break cannot be written: undefined (the file keeps the default order).
 */
export function sortFilePath(rel: string): string | undefined {
  if (/[\n\r]/.test(rel)) return undefined;
  return rel.replace(/[\\\s#]/g, (c) => `\\${c}`);
}

/**
 * The package that installed each file of ROOT (a path relative to ROOT, as the walk names it),
 * from dpkg's lists (var/lib/dpkg/info/PKG.list or PKG:ARCH.list: one absolute path a line).
 * The lists name files as the package shipped them (/bin/ls), which in a merged-/usr root lie
 * behind a symlinked directory (usr/bin/ls): every parent is resolved inside ROOT. A file two
 * packages list goes to the first in name order. No dpkg database: an empty map.
 */
export function packageOwners(root: string): Map<string, string> {
  const info = join(root, 'var', 'lib', 'dpkg', 'info');
  const owners = new Map<string, string>();
  const dirs = new Map<string, string | undefined>();
  // A directory of ROOT with its symlinks followed inside ROOT (at most 40), or undefined.
  const resolveDir = (rel: string): string | undefined => {
    if (dirs.has(rel)) return dirs.get(rel);
    let parts = rel.split('/').filter((p) => p !== '' && p !== '.');
    const done: string[] = [];
    let hops = 0;
    while (parts.length > 0) {
      const p = parts.shift()!;
      if (p === '..') {
        done.pop();
        continue;
      }
      const here = [...done, p].join('/');
      const st = stat(join(root, here));
      if (st?.isSymbolicLink()) {
        if (++hops > 40) return undefined;
        let target: string;
        try {
          target = readlinkSync(join(root, here));
        } catch {
          return undefined;
        }
        if (target.startsWith('/')) done.length = 0;
        parts = [...target.split('/').filter((x) => x !== '' && x !== '.'), ...parts];
        continue;
      }
      if (!st?.isDirectory()) return undefined;
      done.push(p);
    }
    const out = done.join('/');
    dirs.set(rel, out);
    return out;
  };
  const lists = names(info).filter((n) => n.endsWith('.list'));
  for (const list of lists) {
    const pkg = list.slice(0, -'.list'.length).replace(/:.*$/, '');
    let text: string;
    try {
      text = readFileSync(join(info, list), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const slash = line.lastIndexOf('/');
      if (!line.startsWith('/') || slash === line.length - 1) continue;
      const dir = resolveDir(line.slice(1, slash));
      if (dir === undefined) continue;
      const rel = dir === '' ? line.slice(slash + 1) : `${dir}/${line.slice(slash + 1)}`;
      if (!owners.has(rel)) owners.set(rel, pkg);
    }
  }
  return owners;
}

/** "PATH PRIORITY" lines for mksquashfs -sort, of the paths under ROOT that exist. */
export function bootOrder(root: string): string {
  const entries: [string, number][] = [];
  // mksquashfs resolves a line inside the image, where /lib of a merged-/usr system is a
  // symlink: a path through one would be "Cannot stat sortlist entry". Every parent must be a
  // real directory.
  const add = (rel: string, priority: number, want: 'dir' | 'file') => {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) if (!stat(join(root, ...parts.slice(0, i)))?.isDirectory()) return;
    const st = stat(join(root, rel));
    if (st && (want === 'dir' ? st.isDirectory() : st.isFile())) entries.push([rel, priority]);
  };
  for (const t of HOT_TREES) add(t, HOT, 'dir');
  for (const dir of LIBRARY_DIRS) {
    const lib = stat(join(root, dir));
    if (!lib?.isDirectory()) continue;
    const dirs = [dir, ...names(join(root, dir)).filter((n) => MULTIARCH_RE.test(n)).map((n) => `${dir}/${n}`)];
    for (const d of dirs) {
      for (const n of names(join(root, d))) if (SHARED_LIBRARY_RE.test(n)) add(`${d}/${n}`, HOT, 'file');
      if (d !== dir) add(`${d}/systemd`, HOT, 'dir');
    }
  }
  for (const dir of MODULE_DIRS) {
    for (const release of names(join(root, dir))) {
      for (const n of names(join(root, dir, release))) if (n.startsWith('modules.')) add(`${dir}/${release}/${n}`, HOT, 'file');
    }
  }
  for (const d of PROGRAM_DIRS) add(d, WARM, 'dir');
  // Every other regular file, in mksquashfs's order, then grouped by package (the top of this file).
  const listed = new Set(entries.map(([rel]) => rel));
  const walked: string[] = [];
  const walk = (rel: string) => {
    for (const n of names(join(root, rel))) {
      const child = rel === '' ? n : `${rel}/${n}`;
      if (listed.has(child)) continue;
      const st = stat(join(root, child));
      if (st?.isDirectory()) walk(child);
      else if (st?.isFile()) walked.push(child);
    }
  };
  walk('');
  const owner = packageOwners(root);
  const rank = new Map([...new Set(owner.values())].sort(byteOrder).map((p, i) => [p, i]));
  const unowned = rank.size;
  const cold = walked
    .map((rel, i) => ({ rel, i, pkg: rank.get(owner.get(rel) ?? '') ?? unowned }))
    .sort((a, b) => a.pkg - b.pkg || a.i - b.i)
    .map((c) => c.rel);
  const span = COLD_TOP - COLD_BOTTOM + 1;
  cold.forEach((rel, i) => entries.push([rel, COLD_TOP - Math.floor((i * span) / Math.max(cold.length, span))]));
  return entries
    .map(([rel, priority]) => {
      const p = sortFilePath(rel);
      return p === undefined ? '' : `${p} ${priority}\n`;
    })
    .join('');
}
