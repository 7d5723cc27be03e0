/**
 * Boot scenarios of the preboot without GRUB: the preboot kernel and an initramfs built by
 * the real pipeline from a config, started by QEMU's -kernel/-initrd/-append exactly as GRUB
 * starts them (`ib.entry=ID console=...`), so a scenario can pick its entry and add the
 * parameters a person would type at GRUB's edit prompt. The ISO path itself is proven by
 * test/boot/boot.test.ts; this is for the many preboot behaviours.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { defaultCacheDir } from '../../src/paths.js';
import { DEFAULT_KERNEL_PACKAGE } from '../../src/pipeline/build.js';
import { buildPrebootInitramfs } from '../../src/pipeline/initramfs.js';
import { prebootCmdline } from '../../src/pipeline/menu.js';
import { prepareKernelPackage } from '../../src/pipeline/preboot/kernel-package.js';
import { bootAndWatch, type BootResult, type ConsoleInput } from '../../src/qemu/boot.js';
import { startNginx, type NginxServer } from './nginx.js';
import { outputDir } from './paths.js';
import { writeTargetFiles, type TargetFiles } from './target.js';
import { scaled } from './timeouts.js';

export interface BuiltPreboot {
  kernel: string;
  initrd: string;
  /** The preboot command line GRUB would pass for an entry of this config. */
  cmdline(entryId: string, extra?: string): string;
}

export async function buildPreboot(name: string, input: ConfigInput): Promise<BuiltPreboot> {
  const dir = outputDir(name);
  const config = configSchema.parse(input);
  const kernel = await prepareKernelPackage(DEFAULT_KERNEL_PACKAGE, defaultCacheDir());
  const { image } = await buildPrebootInitramfs({ config, kernel, workDir: dir, logger: silentLogger() });
  const initrd = join(dir, 'preboot.img');
  writeFileSync(initrd, image);
  return {
    kernel: kernel.vmlinuz,
    initrd,
    cmdline: (entryId, extra) => [...prebootCmdline({ id: entryId }, { serial: true }), ...(extra ? [extra] : [])].join(' '),
  };
}

export interface ScenarioResult extends BootResult {
  log: string;
}

/** Boots one scenario; the console log is kept as test-output/<dir>/<name>.console.log. */
export async function bootScenario(opts: {
  preboot: BuiltPreboot;
  dir: string;
  name: string;
  entry: string;
  extraCmdline?: string;
  expect: string;
  failOn?: string[];
  timeoutS?: number;
  network?: string[];
  extraArgs?: string[];
  uefi?: boolean;
  /** Keys typed on the serial console when a text appears (see BootOptions.input). */
  input?: ConsoleInput[];
}): Promise<ScenarioResult> {
  const logFile = join(outputDir(opts.dir), `${opts.name}.console.log`);
  const r = await bootAndWatch({
    direct: { kernel: opts.preboot.kernel, initrd: opts.preboot.initrd, append: opts.preboot.cmdline(opts.entry, opts.extraCmdline) },
    expect: opts.expect,
    failOn: opts.failOn ?? ['Kernel panic'],
    timeoutMs: scaled((opts.timeoutS ?? 180) * 1000),
    logFile,
    network: opts.network,
    extraArgs: opts.extraArgs,
    uefi: opts.uefi,
    input: opts.input,
  });
  return { ...r, log: readFileSync(logFile, 'utf8') };
}

/**
 * How every boot test starts: the target (Debian's kernel and the marker initrd) written to
 * test-output/DIR/www and served by nginx on 127.0.0.1 (the guest's 10.0.2.2), plus, for a test
 * that wants them, more nginx servers of the same files (with TLS, say).
 */
export async function serveTarget(dir: string, opts: { tls?: { cert: string; key: string } } = {}): Promise<{ target: TargetFiles; nginx: NginxServer }> {
  const target = await writeTargetFiles(join(outputDir(dir), 'www'));
  const nginx = await startNginx({ root: target.dir, name: `${dir}-nginx`, tls: opts.tls });
  return { target, nginx };
}
