/**
 * The preboot kernel from a Debian linux-image package, downloaded with `apt-get download`
 * (no other network access) and cached: cacheDir/debs/*.deb and cacheDir/kernels/<pkg>_<ver>/.
 * Nothing is installed on the host.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, type RunCtx } from '../../exec/run.js';
import { replaceDirectory } from '../../files/replace.js';
import { OperationError } from '../../errors.js';

export interface KernelTree {
  /** The package and version actually used, e.g. linux-image-6.1.0-56-amd64 6.1.192-2. */
  pkg: string;
  version: string;
  /** The kernel release, the directory name under lib/modules (e.g. 6.1.0-56-amd64). */
  release: string;
  /** Root of the extracted package. */
  root: string;
  vmlinuz: string;
  modulesDir: string;
}

interface AptShow {
  pkg: string;
  version: string;
  depends: string[];
  /** The .deb's size in bytes, as the archive's index says (for progress). */
  size?: number;
}

async function aptShow(pkg: string, ctx: RunCtx = {}): Promise<AptShow> {
  let stdout: string;
  try {
    ({ stdout } = await run('apt-cache', ['show', '--no-all-versions', pkg], { ...ctx }));
  } catch (err) {
    throw new OperationError(`Debian package ${pkg} is not known to apt`, {
      hint: 'run "apt-get update" first, or name an existing linux-image package',
      cause: err,
    });
  }
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(stdout)?.[1]?.trim();
  const version = field('Version');
  if (!version) throw new OperationError(`apt-cache show ${pkg} printed no Version field`);
  const depends = (field('Depends') ?? '').split(',').map((d) => d.trim().split(/[\s(|]/)[0] ?? '').filter(Boolean);
  const size = Number(field('Size'));
  return { pkg: field('Package') ?? pkg, version, depends, size: Number.isSafeInteger(size) && size > 0 ? size : undefined };
}

/** A metapackage (linux-image-amd64) resolves to the concrete linux-image-X package it depends on. */
export async function resolveKernelPackage(pkg: string, ctx: RunCtx = {}): Promise<AptShow> {
  const shown = await aptShow(pkg, ctx);
  const concrete = shown.depends.find((d) => d.startsWith('linux-image-') && d !== pkg);
  return concrete && !/^linux-image-\d/.test(pkg) ? aptShow(concrete, ctx) : shown;
}

async function downloadDeb({ pkg, version, size }: AptShow, cacheDir: string, ctx: RunCtx = {}): Promise<string> {
  const debDir = join(cacheDir, 'debs');
  mkdirSync(debDir, { recursive: true });
  const existing = readdirSync(debDir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb') && f.includes(`_${version.replace(/:/g, '%3a')}_`));
  if (existing) {
    ctx.logger?.debug(`using cached ${existing}`);
    return join(debDir, existing);
  }
  ctx.logger?.info(`downloading Debian package ${pkg} ${version}`);
  const tmp = mkdtempSync(join(debDir, '.download-'));
  try {
    // Downloading as root into a directory _apt cannot read only produces a warning;
    // running the download as root silences it without touching the host's apt config.
    // apt-get writes the .deb into tmp as it arrives: its growing size is the progress.
    const timer = setInterval(() => ctx.logger?.progress(`downloading ${pkg}: ${downloaded(tmp, size)}`), 500);
    try {
      await run('apt-get', ['download', '-o', 'APT::Sandbox::User=root', `${pkg}=${version}`], { ...ctx, cwd: tmp });
    } finally {
      clearInterval(timer);
      ctx.logger?.progress('');
    }
    const got = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!got) throw new OperationError(`apt-get download ${pkg}=${version} wrote no .deb file`);
    renameSync(join(tmp, got), join(debDir, got));
    return join(debDir, got);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** "12.0 of 40.1 MiB (30%)": the bytes in dir so far, against the size apt announced. */
function downloaded(dir: string, size: number | undefined): string {
  let got = 0;
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (f.isFile()) got += statSync(join(f.parentPath ?? f.path, f.name)).size;
  }
  const mb = (n: number) => (n / 1048576).toFixed(1);
  return size ? `${mb(got)} of ${mb(size)} MiB (${Math.min(100, Math.floor((got / size) * 100))}%)` : `${mb(got)} MiB`;
}

/** Extracts a .deb into root, whole or not at all (replaceDirectory). */
async function unpackDeb(deb: string, root: string, ctx: RunCtx = {}): Promise<void> {
  ctx.logger?.info(`unpacking ${deb}`);
  await replaceDirectory(root, async (tmp) => void (await run('dpkg-deb', ['-x', deb, tmp], ctx)), { signal: ctx.signal });
}

/**
 * Downloads (or reuses) any Debian package and extracts it to cacheDir/packages/<pkg>_<version>/,
 * whose path is returned. Nothing is installed. (The boot tests take Xen from here.)
 */
export async function fetchDebianPackage(pkgName: string, cacheDir: string, ctx: RunCtx = {}): Promise<string> {
  const shown = await aptShow(pkgName, ctx);
  const { pkg, version } = shown;
  const root = join(cacheDir, 'packages', `${pkg}_${version}`);
  if (!existsSync(join(root, '.complete'))) {
    await unpackDeb(await downloadDeb(shown, cacheDir, ctx), root, ctx);
    writeFileSync(join(root, '.complete'), `${pkg} ${version}\n`);
  }
  return root;
}

/** Downloads (or reuses) the .deb of a Debian package into cacheDir/debs/; returns its path. */
export async function fetchDebianDeb(pkgName: string, cacheDir: string, ctx: RunCtx = {}): Promise<string> {
  return downloadDeb(await aptShow(pkgName, ctx), cacheDir, ctx);
}

/** Downloads (or reuses) and extracts a Debian kernel package. */
export async function prepareKernelPackage(pkgName: string, cacheDir: string, ctx: RunCtx = {}): Promise<KernelTree> {
  const shown = await resolveKernelPackage(pkgName, ctx);
  const { pkg, version } = shown;
  const root = join(cacheDir, 'kernels', `${pkg}_${version}`);
  if (!existsSync(join(root, '.complete'))) await unpackDeb(await downloadDeb(shown, cacheDir, ctx), root, ctx);
  const releases = existsSync(join(root, 'lib', 'modules')) ? readdirSync(join(root, 'lib', 'modules')) : [];
  const release = releases[0];
  if (!release || releases.length !== 1) throw new OperationError(`${pkg} ${version}: expected one lib/modules/<release> directory, found ${releases.length}`);
  const vmlinuz = join(root, 'boot', `vmlinuz-${release}`);
  if (!existsSync(vmlinuz)) throw new OperationError(`${pkg} ${version} has no boot/vmlinuz-${release}`);
  const modulesDir = join(root, 'lib', 'modules', release);
  if (!existsSync(join(root, '.complete'))) {
    // Debian's packages ship no modules.dep: compute it once for the whole tree.
    await run('depmod', ['-b', root, release], { ...ctx });
    writeFileSync(join(root, '.complete'), `${pkg} ${version}\n`);
  }
  return { pkg, version, release, root, vmlinuz, modulesDir };
}
