/**
 * What `inetboot smoke` reports for tools: `--json` (one object on stdout) and `--junit FILE`
 * (a JUnit XML file, the format CI services read test results from: one test suite with one
 * test case per smoke run, failed with the reason, the console's last lines in system-out).
 */
import { basename } from 'node:path';
import { xmlText } from '../quote.js';
import type { BootResult } from './boot.js';

export interface SmokeReport {
  ok: boolean;
  /** marker | fail-text | timeout | qemu-exited */
  reason: BootResult['reason'];
  /** The text found: the expected one, or a --fail-on text. */
  matched: string | null;
  expect: string;
  image: string;
  medium: 'cd' | 'usb';
  firmware: 'bios' | 'uefi';
  /** From QEMU's start to the outcome, seconds. */
  elapsed_s: number;
  console_log: string;
  screenshot: string | null;
  /** Why the screenshot asked for is missing. */
  screenshot_error: string | null;
  /** QEMU's exit code (0 when smoke stopped it). */
  qemu_exit_code: number | null;
  /** The console's last lines, escapes removed. */
  last_lines: string[];
}

export function smokeReport(r: BootResult, run: { expect: string; image: string; usb?: boolean; uefi?: boolean }): SmokeReport {
  return {
    ok: r.ok,
    reason: r.reason,
    matched: r.matched ?? null,
    expect: run.expect,
    image: run.image,
    medium: run.usb ? 'usb' : 'cd',
    firmware: run.uefi ? 'uefi' : 'bios',
    elapsed_s: Math.round(r.elapsedMs) / 1000,
    console_log: r.logFile,
    screenshot: r.screenshot ?? null,
    screenshot_error: r.screenshotError ?? null,
    qemu_exit_code: r.exitCode ?? null,
    last_lines: r.lastLines,
  };
}

/** The report as JUnit XML: testsuites > testsuite "inetboot smoke" > one testcase. */
export function junitXml(rep: SmokeReport, failureMessage: string): string {
  const name = `${basename(rep.image)} (${rep.firmware.toUpperCase()}, ${rep.medium.toUpperCase()})`;
  const time = rep.elapsed_s.toFixed(3);
  const failures = rep.ok ? 0 : 1;
  const attachments = [`console log: ${rep.console_log}`, ...(rep.screenshot ? [`screenshot: ${rep.screenshot}`] : [])];
  // JUnit's [[ATTACHMENT|path]] lines are what several CI services read to link files.
  const out = [...attachments, ...[rep.console_log, ...(rep.screenshot ? [rep.screenshot] : [])].map((p) => `[[ATTACHMENT|${p}]]`), '', ...rep.last_lines].join('\n');
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="inetboot smoke" tests="1" failures="${failures}" errors="0" time="${time}">`,
    `  <testsuite name="inetboot smoke" tests="1" failures="${failures}" errors="0" skipped="0" time="${time}">`,
    `    <testcase classname="inetboot.smoke" name="${oneLine(name)}" time="${time}">`,
    ...(rep.ok ? [] : [`      <failure type="${rep.reason}" message="${oneLine(firstLine(failureMessage))}">${xmlText(failureMessage)}</failure>`]),
    `      <system-out>${xmlText(out)}</system-out>`,
    '    </testcase>',
    '  </testsuite>',
    '</testsuites>',
    '',
  ];
  return lines.join('\n');
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0] ?? '';
}

/** Attribute text: newlines and tabs in an attribute would be normalised to spaces by readers anyway. */
function oneLine(s: string): string {
  return xmlText(s.replace(/[\t\n\r]/g, ' '));
}
