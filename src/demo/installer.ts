/**
 * The system the example config boots in `inetboot demo` (README, first command): Debian 12's
 * network installer, unmodified, from Debian's `debian-installer-12-netboot-amd64` package,
 * fetched with apt-get download into inetboot's cache (the apt sources of this machine name the
 * mirror; nothing here does). Its text-mode kernel and initrd are copied into a folder to serve,
 * and the example's entry is pinned to their sha256, computed here and now: the package's
 * version moves with Debian's point releases, so no hash could be written into the repo.
 */
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addEntry, removeEntry } from '../config/edit.js';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { sha256File } from '../files/hash.js';
import { EXAMPLE_CONFIG } from '../paths.js';
import type { RunCtx } from '../exec/run.js';
import type { ToolNeed } from '../exec/tools.js';
import { buildIsoNeeds } from '../pipeline/build.js';
import { fetchDebianPackage } from '../pipeline/preboot/kernel-package.js';
import { qemuNeeds } from '../qemu/boot.js';

export const INSTALLER_PACKAGE = 'debian-installer-12-netboot-amd64';
/** Where the package keeps the text-mode installer's kernel and initrd. */
const INSTALLER_DIR = 'usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64';
/** The example's entry that the demo boots. */
const DEMO_ENTRY = 'debian';

/**
 * The installer's first screen on a serial console: newt's help line, on every cdebconf screen
 * (the first is the language list; in low-memory mode, a note before it).
 */
export const INSTALLER_SCREEN = '<Tab> moves; <Space> selects; <Enter> activates buttons';
/** The preboot's last line before kexec (lib/inetboot/boot.sh in the preboot overlay). */
export const PREBOOT_HANDOVER = 'inetboot: loading kernel with command line';
/** Texts that end the demo's boot early as failed. */
export const INSTALLER_FAILURES = ['Kernel panic', 'inetboot: ERROR', 'Insufficient memory'];

export interface ServedFile {
  file: string;
  sha256: string;
  bytes: number;
}

export interface Installer {
  /** `debian-installer-12-netboot-amd64 VERSION`. */
  version: string;
  kernel: ServedFile;
  initrd: ServedFile;
}

/** Every tool `inetboot demo` runs: apt-get and dpkg-deb (as the debian backend), the ISO's, QEMU's. */
export function demoNeeds(uefi?: boolean): ToolNeed[] {
  return [...buildIsoNeeds('debian', false), ...qemuNeeds(uefi)];
}

/** What `inetboot demo` makes in its folder. */
export function demoFiles(dir: string) {
  return {
    www: join(dir, 'www'),
    config: join(dir, 'inetboot.yaml'),
    iso: join(dir, 'inetboot.iso'),
    consoleLog: join(dir, 'console.log'),
    screenshot: join(dir, 'screen.png'),
  };
}

/** Fetches (or reuses) the installer package and copies its kernel and initrd into `www`. */
export async function stageInstaller(www: string, cacheDir: string, ctx: RunCtx = {}): Promise<Installer> {
  const pkg = await fetchDebianPackage(INSTALLER_PACKAGE, cacheDir, ctx);
  const version = (await readFile(join(pkg, '.complete'), 'utf8')).trim();
  await mkdir(www, { recursive: true });
  const put = async (name: string) => {
    const file = join(www, name);
    await copyFile(join(pkg, INSTALLER_DIR, name), file);
    return { file, sha256: await sha256File(file), bytes: (await stat(file)).size };
  };
  return { version, kernel: await put('linux'), initrd: await put('initrd.gz') };
}

/**
 * examples/inetboot.yaml with its `debian` entry pinned to the installer's files served at
 * `baseUrl` (e.g. http://10.0.2.2:8080/), written to `file` with the example's comments.
 */
export async function writeDemoConfig(file: string, installer: Installer, baseUrl: string): Promise<Config> {
  const example = parseConfig(await readFile(EXAMPLE_CONFIG, 'utf8'), EXAMPLE_CONFIG);
  const entry = example.config.entries.find((e) => e.id === DEMO_ENTRY);
  if (!entry) throw new Error(`internal: ${EXAMPLE_CONFIG} has no entry "${DEMO_ENTRY}"`);
  const without = parseConfig(removeEntry(example, DEMO_ENTRY), file);
  const text = addEntry(
    without,
    {
      id: DEMO_ENTRY,
      title: entry.title,
      kernel: { url: `${baseUrl}linux`, sha256: installer.kernel.sha256 },
      initrd: { url: `${baseUrl}initrd.gz`, sha256: installer.initrd.sha256 },
      append: entry.append,
    },
    { makeDefault: true },
  );
  await writeFile(file, text);
  return parseConfig(text, file).config;
}
