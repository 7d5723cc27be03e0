/**
 * `inetboot smoke ISO --expect TEXT`: boot an ISO headless in QEMU and wait for a text on its
 * serial console; with --usb, boot the image as a USB stick (the image of build-iso
 * --cache-partition) in QEMU's snapshot mode, so that the boot's writes (the cache) do not
 * change the image. CI jobs call this to prove that a built ISO boots (exit 0: the text appeared;
 * 1: it did not, or a --fail-on text appeared, or QEMU exited; 2: bad usage), and keep the
 * console log (default `<iso>.console.log`) as an artifact either way. With --screenshot, a
 * PNG of the VGA screen at the outcome; with --json, one object on stdout (src/qemu/report.ts),
 * also when the boot failed; with --junit, a JUnit XML file for CI services.
 */
import { BootFailedError, UsageError } from '../errors.js';
import { relevantOutput } from '../exec/run.js';
import { checkTools } from '../exec/tools.js';
import { checkOutputFile } from '../files/output.js';
import { writeFileReplacing } from '../files/replace.js';
import { bootAndWatch, qemuNeeds, type BootResult } from '../qemu/boot.js';
import { junitXml, smokeReport, type SmokeReport } from '../qemu/report.js';
import type { CommandContext } from './context.js';
import { parseMemoryMiB, requireImage } from './qemu-options.js';

export interface SmokeOptions {
  expect: string;
  /** Seconds, as typed. */
  timeout: string;
  uefi?: boolean;
  /** Boot the image as a USB stick instead of a CD. */
  usb?: boolean;
  log?: string;
  failOn: string[];
  /** MiB, as typed. */
  memory: string;
  /** A PNG of the VGA screen at the marker or the failure. */
  screenshot?: string;
  /** Print the report as one JSON object on stdout. */
  json?: boolean;
  /** Write the report as JUnit XML here. */
  junit?: string;
}

const TAIL_LINES = 20;

export async function smokeCommand(iso: string, opts: SmokeOptions, ctx: CommandContext, out: (s: string) => void): Promise<SmokeReport> {
  const { log } = ctx;
  requireImage(iso, opts.usb);
  if (opts.expect === '') throw new UsageError('--expect: the text must not be empty');
  if (opts.failOn.some((t) => t === '')) throw new UsageError('--fail-on: the text must not be empty');
  const timeoutS = Number(opts.timeout);
  if (!/^\s*[0-9.]+\s*$/.test(opts.timeout) || !Number.isFinite(timeoutS) || timeoutS <= 0) {
    throw new UsageError(`--timeout: expected a positive number of seconds, got "${opts.timeout}"`);
  }
  const memoryMiB = parseMemoryMiB(opts.memory);

  const logFile = opts.log ?? `${iso}.console.log`;
  checkOutputFile(logFile, '--log', 'console.log');
  if (opts.screenshot !== undefined) {
    if (!/\.png$/i.test(opts.screenshot)) throw new UsageError(`--screenshot: name a .png file, got "${opts.screenshot}"`);
    checkOutputFile(opts.screenshot, '--screenshot', 'screen.png');
  }
  if (opts.junit !== undefined) checkOutputFile(opts.junit, '--junit', 'smoke.xml');
  checkTools(qemuNeeds(opts.uefi));

  const firmware = opts.uefi ? 'UEFI' : 'BIOS';
  log.step(`booting ${iso} (${firmware}, TCG${opts.usb ? ', as a USB stick, writes discarded' : ''}) and waiting up to ${timeoutS} s for "${opts.expect}"`);
  const result = await bootAndWatch({
    ...(opts.usb ? { usbStick: iso, snapshot: true } : { iso }),
    uefi: opts.uefi,
    expect: opts.expect,
    failOn: opts.failOn,
    timeoutMs: Math.round(timeoutS * 1000),
    logFile,
    memoryMiB,
    logger: log,
    signal: ctx.signal,
    onLine: (line) => log.debug(`console| ${line}`),
    screenshot: opts.screenshot,
  });

  const secs = (result.elapsedMs / 1000).toFixed(1);
  if (result.screenshot) log.info(`screenshot: ${result.screenshot}`);
  if (result.screenshotError) log.warn(`no screenshot: ${result.screenshotError}`);
  else if (opts.screenshot && !result.screenshot) log.warn('no screenshot: QEMU had exited');
  const report = smokeReport(result, { expect: opts.expect, image: iso, usb: opts.usb, uefi: opts.uefi });
  const failure = result.ok ? '' : failureMessage(result, opts.expect, timeoutS, secs);
  if (opts.junit !== undefined) {
    await writeFileReplacing(opts.junit, junitXml(report, failure), { signal: ctx.signal });
    log.info(`JUnit report: ${opts.junit}`);
  }
  if (opts.json) out(JSON.stringify(report, null, 2) + '\n');
  if (result.ok) {
    log.info(`marker found after ${secs} s (console log: ${logFile})`);
    return report;
  }
  throw new BootFailedError(failure, {
    hint: result.reason === 'timeout' ? 'a slow machine may need a larger --timeout; the console log shows how far the boot got' : undefined,
  });
}

/** Why a boot missed its text, the console's last lines and the log's path (smoke, demo). */
export function failureMessage(r: BootResult, expect: string, timeoutS: number, secs: string): string {
  let why: string;
  switch (r.reason) {
    case 'fail-text':
      why = `boot failed: "${r.matched}" appeared on the console after ${secs} s`;
      break;
    case 'timeout':
      why = `boot timed out: "${expect}" did not appear within ${timeoutS} s`;
      break;
    default: {
      const detail = relevantOutput(r.stderr, 10);
      why = `QEMU exited (code ${r.exitCode}) after ${secs} s before "${expect}" appeared${detail ? `:\n${detail}` : ''}`;
    }
  }
  const tail = r.lastLines.filter((l) => l.trim() !== '').slice(-TAIL_LINES);
  const shown = tail.length > 0 ? `\nlast console lines:\n${tail.map((l) => `  | ${l}`).join('\n')}` : '\n(the console stayed silent)';
  return `${why}${shown}\nfull console log: ${r.logFile}`;
}
