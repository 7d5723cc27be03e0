/**
 * The media of the iPXE benchmarks (bench/ipxe.bench.ts, bench/ipxe-memory.bench.ts): the same
 * target, a kernel and an initrd on one web server, booted by Debian's iPXE and by inetboot's
 * debian and tiny preboots.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/exec/run.js';
import { GRUB_MODULES } from '../src/pipeline/iso.js';
import { bin } from '../test/helpers/cli.js';

export const IPXE_PACKAGE = 'ipxe';
export const KERNEL_SOURCE = process.env.INETBOOT_KERNEL_SOURCE ?? '/usr/src/linux-source-6.1.tar.xz';

export type Way = 'ipxe' | 'debian' | 'tiny';
export const ALL_WAYS: Way[] = ['ipxe', 'debian', 'tiny'];
export const WAY_TITLE: Record<Way, string> = { ipxe: 'iPXE', debian: 'inetboot debian', tiny: 'inetboot tiny' };
/** A subset of ALL named in the environment variable NAME (comma-separated, each by KEY), for a
 * quicker look; unset, all of them. A list that names none of them is an error. */
export function subsetFromEnv<T>(name: string, all: readonly T[], key: (t: T) => string): T[] {
  const want = process.env[name];
  if (!want) return [...all];
  const names = want.split(',');
  const some = all.filter((t) => names.includes(key(t)));
  if (some.length === 0) throw new Error(`${name}=${want}: name some of ${all.map(key).join(', ')}`);
  return some;
}

/** The median of V (the mean of the middle two for an even count); null for none. */
export function median(v: number[]): number | null {
  if (v.length === 0) return null;
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** INETBOOT_BENCH_WAYS=ipxe,tiny: only these ways. */
export const waysFromEnv = (): Way[] => subsetFromEnv('INETBOOT_BENCH_WAYS', ALL_WAYS, (w) => w);

/** What every medium boots: URLs on the bench's server, as the guest reaches it. */
export interface Target {
  kernelUrl: string;
  kernelSha256: string;
  initrdUrl: string;
  initrdSha256: string;
  /** The target's command line. */
  append: string;
}

/** The iPXE script ipxe.lkrn runs (GRUB's initrd16 on BIOS). */
export function ipxeScript(t: Target): string {
  return `#!ipxe\ndhcp\nkernel ${t.kernelUrl} ${t.append}\ninitrd ${t.initrdUrl}\nboot\n`;
}

/** The line typed into ipxe.efi on UEFI. On EFI, iPXE starts Linux through its EFI stub, which
 * reads the initrd named by initrd= from the file system iPXE gives it (its images, by name). */
export function ipxeTypedLine(t: Target): string {
  const name = t.initrdUrl.slice(t.initrdUrl.lastIndexOf('/') + 1);
  return `dhcp && kernel ${t.kernelUrl} initrd=${name} ${t.append} && initrd ${t.initrdUrl} && boot`;
}

const IPXE_GRUB_CFG = `set timeout=0
set default=0
insmod serial
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
menuentry 'iPXE' {
	if [ "$grub_platform" = efi ]; then
		chainloader /ipxe.efi
	else
		linux16 /ipxe.lkrn
		initrd16 /boot.ipxe
	fi
}
`;

/** A grub-mkrescue ISO with Debian's iPXE (pkg: the unpacked package), trimmed as inetboot's
 * (src/pipeline/iso.ts) plus the two loaders it needs. */
export async function ipxeIso(pkg: string, t: Target, output: string): Promise<void> {
  const tree = `${output}.tree`;
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(join(tree, 'boot', 'grub'), { recursive: true });
  // usr/lib/ipxe/ipxe.{lkrn,efi} are symlinks to /boot inside the package.
  copyFileSync(join(pkg, 'boot', 'ipxe.lkrn'), join(tree, 'ipxe.lkrn'));
  copyFileSync(join(pkg, 'boot', 'ipxe.efi'), join(tree, 'ipxe.efi'));
  writeFileSync(join(tree, 'boot.ipxe'), ipxeScript(t));
  writeFileSync(join(tree, 'boot', 'grub', 'grub.cfg'), IPXE_GRUB_CFG);
  await run('grub-mkrescue', ['-o', output, '--fonts=', '--locales=', '--themes=', '--compress=xz', `--install-modules=${[...GRUB_MODULES, 'chain'].join(' ')}`, tree], {
    logFile: `${output}.log`,
  });
}

/** `inetboot build-iso` of a config with one entry (ENTRY: its YAML lines after "- id: ...",
 * indented) and menu timeout 0, with the debian or the tiny (kernel-source) preboot. */
export async function inetbootEntryIso(way: 'debian' | 'tiny', id: string, entry: string[], output: string): Promise<void> {
  const yaml = `${output}.yaml`;
  writeFileSync(yaml, ['timeout: 0', 'entries:', `  - id: ${id}`, ...entry.map((l) => `    ${l}`), ''].join('\n'));
  const backend = way === 'tiny' ? 'kernel-source' : 'debian';
  const r = await bin(['-q', 'build-iso', '-c', yaml, '--preboot-backend', backend, '--kernel-source', KERNEL_SOURCE, '-o', output]);
  if (r.code !== 0) throw new Error(`build-iso (${backend}) failed:\n${r.stderr}`);
}

/** `inetboot build-iso` of one entry booting the target (sha256 pinned, menu timeout 0), with the
 * debian or the tiny (kernel-source) preboot. */
export async function inetbootIso(way: 'debian' | 'tiny', t: Target, output: string): Promise<void> {
  await inetbootEntryIso(
    way,
    'bench',
    [
      'title: Benchmark entry',
      `kernel: { url: "${t.kernelUrl}", sha256: "${t.kernelSha256}" }`,
      `initrd: { url: "${t.initrdUrl}", sha256: "${t.initrdSha256}" }`,
      `append: ${t.append}`,
    ],
    output,
  );
}

/** LIST turned by ROUND - 1 places: interleaved rounds, so that no item always follows the same other. */
export function turned<T>(list: readonly T[], round: number): T[] {
  return list.map((_, i) => list[(i + round - 1) % list.length]!);
}

/** The medium of a way. */
export async function wayIso(way: Way, ipxePkg: string, t: Target, output: string): Promise<void> {
  if (way === 'ipxe') await ipxeIso(ipxePkg, t, output);
  else await inetbootIso(way, t, output);
}
