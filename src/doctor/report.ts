/**
 * `inetboot doctor`: what this machine has for each command, from the same tool lists the
 * commands check before they start (so the two cannot drift apart): every program and file each
 * command needs, found or missing, with its Debian package; whether QEMU could use KVM; how big
 * the cache is. The report is data; src/commands/doctor.ts formats it.
 */
import { accessSync, constants, existsSync, lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { hostLookup, locate, needs, packageOf, type ToolLookup, type ToolNeed } from '../exec/tools.js';
import { LOCK_TOOLS } from '../files/lock.js';
import { buildIsoNeeds, prebootNeeds } from '../pipeline/build.js';
import { cacheDiskNeeds } from '../pipeline/cache-disk.js';
import { PREBOOT_BACKENDS, type PrebootBackend } from '../pipeline/preboot/backend.js';
import { DAEMON_LIBRARIES, hasLibrary } from '../pipeline/publish/daemon.js';
import { PUBLISH_TOOLS } from '../pipeline/publish/publish.js';
import { qemuNeeds } from '../qemu/boot.js';
import { demoNeeds } from '../demo/installer.js';

/** A library the block daemon is built against, found with pkg-config (its -dev package). */
interface LibraryNeed {
  library: string;
  pkg: string;
}

/** One way to run a command, and what it needs. */
interface CommandNeeds {
  command: string;
  /** When these needs apply, if not always. */
  when?: string;
  tools: ToolNeed[];
  libraries?: LibraryNeed[];
}

const DEFAULT_BACKEND: PrebootBackend = 'debian';

function withBackend(command: string, backend: PrebootBackend): string {
  return backend === DEFAULT_BACKEND ? command : `${command} --preboot-backend ${backend}`;
}

/** Every command, in the order of `inetboot --help`, with each variant that needs other tools. */
export function commandNeeds(): CommandNeeds[] {
  const daemonLibraries = Object.entries(DAEMON_LIBRARIES).map(([library, pkg]) => ({ library, pkg }));
  return [
    { command: 'init, add-entry, remove-entry, set-default', tools: LOCK_TOOLS },
    { command: 'list, menu', tools: [] },
    ...PREBOOT_BACKENDS.map((b) => ({ command: withBackend('build-iso', b), when: b === DEFAULT_BACKEND ? `${b} backend, the default` : undefined, tools: buildIsoNeeds(b, false) })),
    { command: 'build-iso', when: 'https:// URLs in the config', tools: [...buildIsoNeeds(DEFAULT_BACKEND, false), ...needs('openssl')] },
    { command: 'build-iso --cache-partition SIZE', tools: buildIsoNeeds(DEFAULT_BACKEND, true) },
    ...PREBOOT_BACKENDS.map((b) => ({ command: withBackend('build-preboot', b), tools: prebootNeeds(b) })),
    { command: 'smoke', tools: qemuNeeds(false) },
    { command: 'smoke --uefi', tools: qemuNeeds(true) },
    { command: 'run', tools: qemuNeeds(false) },
    { command: 'run --uefi', tools: qemuNeeds(true) },
    { command: 'make-cache-disk', tools: cacheDiskNeeds('vfat') },
    { command: 'make-cache-disk --fs ext4', tools: cacheDiskNeeds('ext4') },
    { command: 'publish', tools: PUBLISH_TOOLS, libraries: daemonLibraries },
    { command: 'serve', tools: [] },
    { command: 'demo', tools: demoNeeds(false) },
    { command: 'demo --uefi', tools: demoNeeds(true) },
  ];
}

export type NeedStatus = 'found' | 'missing' | 'unchecked';

/** One program, file or library, as found on this machine, once however many commands need it. */
export interface ToolStatus {
  name: string;
  kind: 'program' | 'file' | 'library';
  package: string;
  /** What inetboot uses it for. */
  does: string;
  /** unchecked: a library, when pkg-config itself is missing. */
  status: NeedStatus;
  /** Where it was found (a program's path; a file's own path). */
  path?: string;
  needed_by: string[];
}

export interface CommandStatus {
  command: string;
  when?: string;
  ready: boolean;
  /** The names of ToolStatus entries, in the order the command checks them. */
  needs: string[];
  missing: string[];
}

export interface KvmStatus {
  device: string;
  usable: boolean;
  detail: string;
}

export interface CacheStatus {
  dir: string;
  exists: boolean;
  /** The apparent size of every file below it (hard links counted once). */
  bytes: number;
  files: number;
  /** Each top-level entry (a kind of cached thing) and its bytes, largest first. */
  entries: { name: string; bytes: number }[];
}

export interface DoctorReport {
  ok: boolean;
  commands: CommandStatus[];
  tools: ToolStatus[];
  /** The Debian packages of everything missing, sorted, once each. */
  missing_packages: string[];
  /** The command that installs them, or null when nothing is missing. */
  apt_get: string | null;
  kvm: KvmStatus;
  cache: CacheStatus;
}

export interface DoctorOptions {
  cacheDir: string;
  /** How programs and files are looked for; default: this machine's PATH (tools.ts). */
  lookup?: ToolLookup;
  /** Whether pkg-config knows a library; default: runs pkg-config. Only asked when pkg-config was found. */
  hasLibrary?: (library: string) => Promise<boolean>;
  /** Default /dev/kvm. */
  kvmDevice?: string;
  signal?: AbortSignal;
}

export async function doctor(opts: DoctorOptions): Promise<DoctorReport> {
  const lookup = opts.lookup ?? hostLookup();
  const libraryLookup = opts.hasLibrary ?? ((lib: string) => hasLibrary(lib, { signal: opts.signal }));
  const pkgConfigFound = locate('pkg-config', lookup) !== undefined;
  const tools = new Map<string, ToolStatus>();
  const commands: CommandStatus[] = [];

  for (const c of commandNeeds()) {
    const names: string[] = [];
    for (const t of c.tools) {
      let s = tools.get(t.name);
      if (!s) {
        const path = locate(t.name, lookup);
        s = { name: t.name, kind: t.name.startsWith('/') ? 'file' : 'program', package: packageOf(t.name) ?? 'unknown', does: t.reason, status: path ? 'found' : 'missing', ...(path ? { path } : {}), needed_by: [] };
        tools.set(t.name, s);
      }
      names.push(t.name);
    }
    for (const l of c.libraries ?? []) {
      let s = tools.get(l.library);
      if (!s) {
        const status: NeedStatus = !pkgConfigFound ? 'unchecked' : (await libraryLookup(l.library)) ? 'found' : 'missing';
        s = { name: l.library, kind: 'library', package: l.pkg, does: 'the block daemon is built against it', status, needed_by: [] };
        tools.set(l.library, s);
      }
      names.push(l.library);
    }
    const label = c.when ? `${c.command} (${c.when})` : c.command;
    for (const n of names) tools.get(n)!.needed_by.push(label);
    const missing = names.filter((n) => tools.get(n)!.status !== 'found');
    commands.push({ command: c.command, ...(c.when ? { when: c.when } : {}), ready: missing.length === 0, needs: names, missing });
  }

  const missingPackages = [...new Set([...tools.values()].filter((t) => t.status !== 'found').map((t) => t.package))].sort();
  return {
    ok: commands.every((c) => c.ready),
    commands,
    tools: [...tools.values()],
    missing_packages: missingPackages,
    apt_get: missingPackages.length > 0 ? `apt-get install ${missingPackages.join(' ')}` : null,
    kvm: kvmStatus(opts.kvmDevice),
    cache: cacheStatus(opts.cacheDir),
  };
}

/** QEMU can use KVM when /dev/kvm is there and this user may open it read-write. */
export function kvmStatus(device = '/dev/kvm'): KvmStatus {
  if (!existsSync(device)) {
    return { device, usable: false, detail: `${device} does not exist: no hardware virtualisation, or the kvm module is not loaded` };
  }
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch {
    return { device, usable: false, detail: `${device} exists, but this user may not open it read-write: add the user to its group (usually kvm)` };
  }
  return { device, usable: true, detail: `${device} is readable and writable` };
}

/**
 * The cache's size, walked without following symbolic links. Synchronous: the cache holds tens
 * of thousands of files (a kernel build tree), which lstat walks in well under a second, and
 * nothing else runs meanwhile.
 */
export function cacheStatus(dir: string): CacheStatus {
  if (!existsSync(dir)) return { dir, exists: false, bytes: 0, files: 0, entries: [] };
  const seen = new Set<string>();
  let files = 0;
  const sizeOf = (path: string): number => {
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch {
      // Removed while we looked (a build running), or unreadable: it counts for nothing.
      return 0;
    }
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = readdirSync(path);
      } catch {
        return 0;
      }
      return names.reduce((sum, n) => sum + sizeOf(join(path, n)), 0);
    }
    if (!st.isFile()) return 0;
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return 0;
    seen.add(key);
    files++;
    return st.size;
  };
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    // An unreadable cache directory is reported as empty.
  }
  const entries = names.map((name) => ({ name, bytes: sizeOf(join(dir, name)) })).sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
  return { dir, exists: true, bytes: entries.reduce((s, e) => s + e.bytes, 0), files, entries };
}

