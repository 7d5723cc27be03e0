/**
 * build(): the table of contents of `inetboot build-iso`.
 *   check tools -> GRUB menu -> preboot kernel -> preboot initramfs -> stage ISO tree -> ISO
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Config } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { checkTools, type ToolNeed } from '../exec/tools.js';
import type { Logger } from '../log.js';
import { buildPrebootInitramfs } from './initramfs.js';
import { ISO_PATHS, ISO_TOOLS, makeIso } from './iso.js';
import { renderMenu } from './menu.js';
import { prepareKernelPackage } from './preboot/kernel-package.js';

/** The Debian package the default backend takes the preboot kernel from. */
export const DEFAULT_KERNEL_PACKAGE = 'linux-image-amd64';

export const DEBIAN_BACKEND_TOOLS: ToolNeed[] = [
  { name: 'apt-get', reason: 'downloads the preboot kernel package' },
  { name: 'apt-cache', reason: 'finds the preboot kernel package' },
  { name: 'dpkg-deb', reason: 'unpacks the preboot kernel package' },
  { name: 'depmod', reason: "computes the preboot's modules.dep" },
  { name: 'busybox', reason: "the preboot's shell, wget, udhcpc and friends" },
  { name: 'kexec', reason: 'starts the downloaded kernel from the preboot' },
  { name: 'ldd', reason: "finds kexec's libraries" },
];

export interface BuildOptions {
  config: Config;
  output: string;
  cacheDir: string;
  kernelPackage?: string;
  keepWorkdir?: boolean;
  logger: Logger;
}

export interface BuildResult {
  output: string;
  isoBytes: number;
  kernel: { pkg: string; version: string; bytes: number };
  initramfs: { bytes: number; files: number; modules: number };
  workDir?: string;
}

export async function buildIso(opts: BuildOptions): Promise<BuildResult> {
  const { config, logger } = opts;
  if (config.entries.length === 0) throw new UsageError('the config has no entries: add one with "inetboot add-entry"');
  checkTools([...ISO_TOOLS, ...DEBIAN_BACKEND_TOOLS]);

  const workDir = mkdtempSync(join(tmpdir(), 'inetboot-build-'));
  const logFile = join(workDir, 'build.log');
  try {
    logger.step('composing the GRUB menu');
    const menu = renderMenu(config);

    logger.step('preparing the preboot kernel (Debian package)');
    const kernel = await prepareKernelPackage(opts.kernelPackage ?? DEFAULT_KERNEL_PACKAGE, opts.cacheDir, logger);
    logger.info(`preboot kernel: ${kernel.pkg} ${kernel.version}`);

    logger.step('assembling the preboot initramfs');
    const initramfs = await buildPrebootInitramfs({ config, kernel, workDir, logger });
    logger.info(`preboot initramfs: ${mib(initramfs.image.length)}, ${initramfs.files} files, ${initramfs.modules} modules`);

    logger.step('writing the hybrid BIOS+UEFI ISO');
    const root = join(workDir, 'iso-root');
    const put = (rel: string, write: (path: string) => void) => {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      write(join(root, rel));
    };
    put(ISO_PATHS.grubCfg, (p) => writeFileSync(p, menu));
    put(ISO_PATHS.kernel, (p) => copyFileSync(kernel.vmlinuz, p));
    put(ISO_PATHS.initrd, (p) => writeFileSync(p, initramfs.image));
    mkdirSync(dirname(opts.output), { recursive: true });
    const { bytes } = await makeIso({ root, output: opts.output, logger, logFile });
    logger.info(`wrote ${opts.output} (${mib(bytes)})`);

    return {
      output: opts.output,
      isoBytes: bytes,
      kernel: { pkg: kernel.pkg, version: kernel.version, bytes: statSync(kernel.vmlinuz).size },
      initramfs: { bytes: initramfs.image.length, files: initramfs.files, modules: initramfs.modules },
      workDir: opts.keepWorkdir ? workDir : undefined,
    };
  } finally {
    if (opts.keepWorkdir) logger.info(`build directory kept: ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}
