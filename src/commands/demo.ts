/**
 * `inetboot demo`: the README's first command. Shows in one run that a medium built by inetboot
 * boots a real system from a web server: Debian 12's network installer (src/demo/installer.ts)
 * is served from 127.0.0.1 by inetboot's own server, the example config pinned to it is built
 * into an ISO, and the ISO is booted headless in QEMU until the installer's first screen.
 * Everything it makes is in one folder: the served files (www/), the config, the ISO, the
 * console log and a screenshot.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { demoFiles, demoNeeds, INSTALLER_FAILURES, PREBOOT_HANDOVER, INSTALLER_SCREEN, stageInstaller, writeDemoConfig } from '../demo/installer.js';
import { BootFailedError, UsageError } from '../errors.js';
import { checkTools } from '../exec/tools.js';
import { checkOutputDir } from '../files/output.js';
import { defaultCacheDir } from '../paths.js';
import { buildIso, mib } from '../pipeline/build.js';
import { bootAndWatch } from '../qemu/boot.js';
import { DEFAULT_PORT, startStaticServer } from '../serve/server.js';
import type { CommandContext } from './context.js';
import { parsePort } from './serve.js';
import { failureMessage } from './smoke.js';

export interface DemoOptions {
  /** The folder for everything the demo makes. */
  output: string;
  uefi?: boolean;
  /** As typed. */
  port?: string;
  /** Seconds, as typed. */
  timeout: string;
  cacheDir?: string;
}

export async function demoCommand(opts: DemoOptions, ctx: CommandContext): Promise<void> {
  const { log, signal } = ctx;
  const port = opts.port === undefined ? DEFAULT_PORT : parsePort(opts.port);
  const timeoutS = Number(opts.timeout);
  if (!/^[0-9]+$/.test(opts.timeout) || timeoutS <= 0) throw new UsageError(`--timeout: expected a positive whole number of seconds, got "${opts.timeout}"`);
  checkOutputDir(opts.output, '-o');
  checkTools(demoNeeds(opts.uefi));

  const dir = resolve(opts.output);
  mkdirSync(dir, { recursive: true });
  const files = demoFiles(dir);
  const cacheDir = resolve(opts.cacheDir ?? defaultCacheDir());

  log.step("fetching Debian 12's network installer (apt-get download, kept in the cache)");
  const installer = await stageInstaller(files.www, cacheDir, { logger: log, signal });
  log.info(`${installer.version}: linux ${mib(installer.kernel.bytes)}, initrd.gz ${mib(installer.initrd.bytes)} in ${files.www}`);

  const server = await startStaticServer({
    root: files.www,
    port,
    onRequest: (e) => log.info(`  served ${e.method} ${e.path} ${e.status} (${e.bytes} bytes)`),
  });
  try {
    log.step(`serving ${files.www} on ${server.url} (the guest's ${server.guestUrl})`);
    const config = await writeDemoConfig(files.config, installer, server.guestUrl);
    log.info(`wrote ${files.config}: examples/inetboot.yaml with its entry pinned to the installer's sha256`);

    log.step('building the ISO');
    await buildIso({ config, output: files.iso, cacheDir, preboot: { backend: 'debian' }, logger: log, signal });

    const firmware = opts.uefi ? 'UEFI' : 'BIOS';
    log.step(`booting it headless in QEMU (${firmware}, TCG) until the installer's first screen (at most ${timeoutS} s)`);
    const r = await bootAndWatch({
      iso: files.iso,
      uefi: opts.uefi,
      expect: INSTALLER_SCREEN,
      failOn: INSTALLER_FAILURES,
      timeoutMs: timeoutS * 1000,
      logFile: files.consoleLog,
      // The installer's kernel takes the VGA card over for a blank framebuffer console (it runs
      // on ttyS0): the screen worth keeping is the preboot's, as it hands over.
      shots: [{ when: PREBOOT_HANDOVER, file: files.screenshot }],
      logger: log,
      signal,
      onLine: (line) => log.debug(`console| ${line}`),
    });
    const shot = r.shots[0];
    if (shot?.error) log.warn(`no screenshot: ${shot.error}`);
    const secs = (r.elapsedMs / 1000).toFixed(1);
    if (!r.ok) {
      throw new BootFailedError(`the demo's ${failureMessage(r, INSTALLER_SCREEN, timeoutS, secs)}`, {
        hint: r.reason === 'timeout' ? 'a slow machine may need a larger --timeout' : undefined,
      });
    }
    log.info('');
    log.info(`The medium works: Debian's installer showed its first screen ${secs} s after power-on.`);
    log.info(`  ISO:            ${files.iso}`);
    log.info(`  config:         ${files.config}`);
    log.info(`  console log:    ${files.consoleLog}  (the installer runs on the serial console: its screen is at the end)`);
    if (shot && !shot.error) log.info(`  screenshot:     ${shot.file}  (the VGA screen as the preboot started the installer)`);
    log.info('Try it yourself, with the console in your terminal (Ctrl-] leaves):');
    log.info(`  inetboot run ${files.iso} --serve ${files.www} --port ${server.port}`);
  } finally {
    await server.close();
  }
}

/** The default folder of `inetboot demo`. */
export const DEMO_DIR = 'demo';
