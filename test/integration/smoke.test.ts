/**
 * The smoke runner (src/qemu/boot.ts and `inetboot smoke`) proven with a real boot that needs
 * no other part of inetboot: a tiny grub-mkrescue ISO whose grub.cfg prints a marker on the
 * serial console and then sleeps. Every console log is kept under test-output/smoke/.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InterruptedError } from '../../src/errors.js';
import { run } from '../../src/exec/run.js';
import { checkTools } from '../../src/exec/tools.js';
import { AnsiStripper, bootAndWatch, ConsoleWatcher, stripAnsi } from '../../src/qemu/boot.js';
import { bin, spawnBin } from '../helpers/cli.js';
import { outputDir } from '../helpers/paths.js';
import { readPng } from '../helpers/png.js';
import { scaled } from '../helpers/timeouts.js';

const MARKER = 'SMOKE-MARKER-42';

// GRUB runs these top-level commands with no menu. Output goes to the serial port and to the
// screen (`console`), so that a screenshot shows the marker too (the same `terminal_output` as
// inetboot's menus, grub-templates/serial.cfg). `insmod serial` is not strictly needed (the
// `serial` command loads its module on demand on both BIOS and UEFI; tried) but states the
// dependency. `sleep 600` keeps the guest alive so that only the runner can end the boot.
const GRUB_CFG = `insmod serial
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial console
echo '${MARKER}'
sleep 600
`;

describe('console matching (no QEMU)', () => {
  it('strips CSI, OSC and charset escapes, also when split across pieces', () => {
    expect(stripAnsi('\x1b[H\x1b[J\x1b[1;1HSMOKE\x1b[0m\r\n\x1b]0;title\x07ok\x1b(B!')).toBe('SMOKE\nok!');
    const s = new AnsiStripper();
    const pieces = ['a\x1b', '[', '01;', '01', 'Hb\x1b', ']2;x\x1b', '\\c'];
    expect(pieces.map((p) => s.push(p)).join('')).toBe('abc');
  });

  it('finds a marker fed one byte at a time, in raw bytes and behind escapes', () => {
    const raw = new ConsoleWatcher(MARKER);
    const stream = Buffer.from(`\x1b[2J\x1b[01;01Hnoise ${MARKER}\r\n`);
    const hits = [...stream].map((b) => raw.push(Buffer.from([b])));
    expect(hits.filter(Boolean)).toHaveLength(1);
    expect(hits.findIndex(Boolean)).toBe(stream.indexOf(MARKER) + MARKER.length - 1);

    // only visible after stripping: the text is interrupted by a colour change
    const split = new ConsoleWatcher(MARKER);
    const chunks = ['SMOKE-\x1b', '[1mMARK', 'ER-42'].map((c) => Buffer.from(c));
    expect(chunks.map((c) => split.push(c)?.text)).toEqual([undefined, undefined, MARKER]);
  });

  it('decodes UTF-8 split between chunks, reports lines, and lets a fail text win a tie', () => {
    const lines: string[] = [];
    const w = new ConsoleWatcher('ünïcode', ['Kernel panic'], (l) => lines.push(l));
    const bytes = Buffer.from('first\r\nxx ünïcode and Kernel panic\r\nlast');
    expect(w.push(bytes.subarray(0, 11))).toBeUndefined();
    expect(w.push(bytes.subarray(11))).toEqual({ text: 'Kernel panic', kind: 'fail' });
    expect(lines).toEqual(['first', 'xx ünïcode and Kernel panic']);
    expect(w.lastLines()).toEqual(['first', 'xx ünïcode and Kernel panic', 'last']);
  });
});

/** True while a QEMU process whose command line names `iso` is alive. */
function qemuRunningFor(iso: string): boolean {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('qemu-system-x86_64') && argv.some((a) => a.includes(iso))) return true;
    } catch {
      // exited meanwhile
    }
  }
  return false;
}

describe('bootAndWatch and `inetboot smoke` with a real GRUB ISO', () => {
  const out = outputDir('smoke');
  const iso = join(out, 'smoke-marker.iso');
  const logOf = (name: string) => join(out, `${name}.console.log`);
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    checkTools([
      { name: 'grub-mkrescue', reason: 'builds the test ISO' },
      { name: 'xorriso', reason: 'used by grub-mkrescue' },
      { name: 'mformat', reason: 'used by grub-mkrescue for the EFI image' },
      { name: '/usr/lib/grub/i386-pc/modinfo.sh', reason: 'BIOS GRUB' },
      { name: '/usr/lib/grub/x86_64-efi/modinfo.sh', reason: 'UEFI GRUB' },
    ]);
    const tree = join(out, 'iso-tree');
    rmSync(tree, { recursive: true, force: true });
    mkdirSync(join(tree, 'boot', 'grub'), { recursive: true });
    writeFileSync(join(tree, 'boot', 'grub', 'grub.cfg'), GRUB_CFG);
    rmSync(iso, { force: true });
    await run('grub-mkrescue', ['--fonts=', '--locales=', '--themes=', '-o', iso, tree], {
      logFile: join(out, 'grub-mkrescue.log'),
      timeoutMs: scaled(120_000),
    });
    expect(statSync(iso).size).toBeGreaterThan(0);
  });

  afterEach(() => {
    // Whatever happened, the runner must not leave an emulator behind.
    expect(qemuRunningFor(iso)).toBe(false);
  });

  for (const uefi of [false, true]) {
    const fw = uefi ? 'uefi' : 'bios';
    it(
      `finds the GRUB marker on ${fw.toUpperCase()}`,
      async () => {
        const r = await bootAndWatch({ iso, uefi, expect: MARKER, timeoutMs: scaled(120_000), logFile: logOf(`marker-${fw}`) });
        timings[fw] = r.elapsedMs;
        console.log(`${fw.toUpperCase()} GRUB marker after ${(r.elapsedMs / 1000).toFixed(2)} s`);
        expect(r).toMatchObject({ ok: true, reason: 'marker', matched: MARKER, logFile: logOf(`marker-${fw}`) });
        expect(readFileSync(r.logFile, 'utf8')).toContain(MARKER);
        // On UEFI the line holds the marker twice: GRUB's `console` output is OVMF's console,
        // which OVMF mirrors to the serial port next to GRUB's own serial output.
        expect(r.lastLines.some((l) => l.includes(MARKER))).toBe(true);
      },
      scaled(180_000),
    );
  }

  it(
    'times out when the text never appears, although the boot got as far as GRUB',
    async () => {
      const timeoutMs = scaled(10_000);
      const r = await bootAndWatch({ iso, expect: 'THIS-TEXT-NEVER-APPEARS', timeoutMs, logFile: logOf('timeout') });
      expect(r).toMatchObject({ ok: false, reason: 'timeout' });
      expect(r.matched).toBeUndefined();
      expect(r.elapsedMs).toBeGreaterThanOrEqual(timeoutMs - 5); // timers may fire a hair early
      expect(r.elapsedMs).toBeLessThan(timeoutMs + 5_000);
      expect(readFileSync(r.logFile, 'utf8')).toContain(MARKER);
    },
    scaled(60_000),
  );

  it(
    'stops early on a --fail-on text',
    async () => {
      const r = await bootAndWatch({ iso, expect: 'NEVER', failOn: ['no such text', 'MARKER-42'], timeoutMs: scaled(120_000), logFile: logOf('fail-on') });
      expect(r).toMatchObject({ ok: false, reason: 'fail-text', matched: 'MARKER-42' });
    },
    scaled(180_000),
  );

  it('reports QEMU exiting first, with its exit code and stderr', async () => {
    const r = await bootAndWatch({ iso, expect: MARKER, timeoutMs: scaled(60_000), logFile: logOf('qemu-exited'), extraArgs: ['-no-such-option'] });
    expect(r).toMatchObject({ ok: false, reason: 'qemu-exited', exitCode: 1 });
    expect(r.stderr).toMatch(/invalid option/);
    expect(existsSync(r.logFile)).toBe(true);
  });

  it(
    'stops QEMU when its AbortSignal fires, and throws the reason; no process-wide handler is added',
    async () => {
      const listenersBefore = (['SIGINT', 'SIGTERM', 'SIGHUP', 'exit'] as const).map((e) => process.listenerCount(e));
      const controller = new AbortController();
      const boot = bootAndWatch({
        iso,
        expect: 'NEVER',
        timeoutMs: scaled(120_000),
        logFile: logOf('aborted'),
        signal: controller.signal,
        onLine: (line) => {
          if (line.includes(MARKER)) controller.abort(new InterruptedError('SIGTERM'));
        },
      });
      await expect(boot).rejects.toThrow(InterruptedError);
      await expect(boot).rejects.toThrow(/interrupted by SIGTERM/);
      expect((['SIGINT', 'SIGTERM', 'SIGHUP', 'exit'] as const).map((e) => process.listenerCount(e))).toEqual(listenersBefore);
    },
    scaled(180_000),
  );

  describe('the smoke command (node bin/inetboot.js)', () => {
    const cli = { smoke: (a: SmokeArgs) => bin(smokeArgv(a)) };

    it(
      'exits 0 and says how long it took; the log defaults to <iso>.console.log',
      async () => {
        rmSync(`${iso}.console.log`, { force: true });
        const r = await cli.smoke({ iso, expect: MARKER, timeout: String(scaled(120)) });
        expect(r.stderr).toMatch(/marker found after \d+\.\d s/);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe('');
        expect(readFileSync(`${iso}.console.log`, 'utf8')).toContain(MARKER);
      },
      scaled(180_000),
    );

    it(
      '--screenshot, --json and --junit when the marker appears (BIOS): a PNG of the text screen, one JSON object on stdout, a passing JUnit case',
      async () => {
        const [png, junit, log] = [join(out, 'cli-ok-bios.png'), join(out, 'cli-ok-bios.junit.xml'), logOf('cli-ok-bios')];
        for (const f of [png, junit]) rmSync(f, { force: true });
        const r = await cli.smoke({ iso, expect: MARKER, timeout: String(scaled(120)), log, screenshot: png, junit, json: true });
        expect(r.code, r.stderr).toBe(0);
        const report = JSON.parse(r.stdout);
        expect(report).toMatchObject({ ok: true, reason: 'marker', matched: MARKER, expect: MARKER, image: iso, medium: 'cd', firmware: 'bios', console_log: log, screenshot: png, screenshot_error: null });
        expect(report.elapsed_s).toBeGreaterThan(0);
        expect(report.last_lines).toContain(MARKER);
        // SeaBIOS leaves the VGA card in its 80x25 text mode, which QEMU draws 720x400.
        const pic = readPng(png);
        expect(pic).toMatchObject({ width: 720, height: 400 });
        expect(pic.colours).toBeGreaterThanOrEqual(2);
        expect(pic.foreground).toBeGreaterThan(0.005);
        const xml = readFileSync(junit, 'utf8');
        expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="inetboot smoke" tests="1" failures="0"/);
        expect(xml).toContain('<testcase classname="inetboot.smoke" name="smoke-marker.iso (BIOS, CD)"');
        expect(xml).not.toContain('<failure');
        expect(xml).toContain(`[[ATTACHMENT|${png}]]`);
      },
      scaled(180_000),
    );

    it(
      '--screenshot, --json and --junit when the boot fails (UEFI, a --fail-on text): exit 1, the report on stdout all the same, a failing JUnit case',
      async () => {
        const [png, junit, log] = [join(out, 'cli-fail-uefi.png'), join(out, 'cli-fail-uefi.junit.xml'), logOf('cli-fail-uefi')];
        for (const f of [png, junit]) rmSync(f, { force: true });
        const r = await cli.smoke({ iso, expect: 'NEVER', failOn: [MARKER], timeout: String(scaled(120)), log, screenshot: png, junit, json: true, uefi: true });
        expect(r.code, r.stderr).toBe(1);
        expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, reason: 'fail-text', matched: MARKER, firmware: 'uefi', screenshot: png });
        // OVMF's graphics console is 1280x800 on QEMU's std VGA.
        const pic = readPng(png);
        expect(pic).toMatchObject({ width: 1280, height: 800 });
        expect(pic.foreground).toBeGreaterThan(0.005);
        const xml = readFileSync(junit, 'utf8');
        expect(xml).toContain('failures="1"');
        expect(xml).toContain(`<failure type="fail-text" message="boot failed: &quot;${MARKER}&quot; appeared on the console after`);
        expect(xml).toContain(`  | ${MARKER}`);
      },
      scaled(180_000),
    );

    it(
      'exits 1 with the reason, the last console lines and the log path',
      async () => {
        const log = logOf('cli-fail-on');
        const r = await cli.smoke({ iso, expect: 'NEVER', timeout: String(scaled(120)), failOn: [MARKER], log, uefi: true });
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain(`"${MARKER}" appeared on the console`);
        expect(r.stderr).toContain('last console lines:');
        expect(r.stderr).toContain(`  | ${MARKER}`);
        expect(r.stderr).not.toContain('\x1b');
        expect(r.stderr).toContain(`full console log: ${log}`);
      },
      scaled(180_000),
    );

    it('exits 2 on bad usage, before booting anything', async () => {
      const c = cli;
      const missing = await c.smoke({ iso: join(out, 'no-such.iso'), expect: MARKER });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('ISO not found');
      for (const [opts, message] of [
        [{ timeout: 'soon' }, '--timeout'],
        [{ timeout: '0' }, '--timeout'],
        [{ memory: '1.5' }, '--memory'],
        [{ memory: '0' }, '--memory'],
        [{ screenshot: join(out, 'screen.ppm') }, '--screenshot: name a .png file'],
        [{ screenshot: join(out, 'screen.png'), junit: out, json: true }, '--junit'],
      ] as const) {
        const r = await c.smoke({ iso, expect: MARKER, ...opts });
        expect(r.code, JSON.stringify(opts)).toBe(2);
        expect(r.stderr).toContain(message);
        expect(r.stdout).toBe('');
      }
    });

    it(
      'SIGTERM during the boot: exit 143, QEMU stopped, the console log kept',
      async () => {
        const log = logOf('cli-sigterm');
        rmSync(log, { force: true });
        const child = spawnBin(smokeArgv({ iso, expect: 'NEVER', timeout: String(scaled(120)), log }));
        await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes(MARKER), scaled(120_000));
        child.kill('SIGTERM');
        const r = await child;
        expect(r.exitCode, String(r.stderr)).toBe(143);
        expect(String(r.stderr)).toContain('inetboot: interrupted by SIGTERM');
        expect(readFileSync(log, 'utf8')).toContain(MARKER);
      },
      scaled(180_000),
    );
  });
});

async function waitFor(ok: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`waited ${timeoutMs} ms in vain`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface SmokeArgs {
  iso: string;
  expect: string;
  timeout?: string;
  failOn?: string[];
  log?: string;
  uefi?: boolean;
  memory?: string;
  screenshot?: string;
  junit?: string;
  json?: boolean;
}
function smokeArgv(a: SmokeArgs): string[] {
  return [
    'smoke', a.iso, '--expect', a.expect,
    ...(a.timeout ? ['--timeout', a.timeout] : []),
    ...(a.failOn ?? []).flatMap((t) => ['--fail-on', t]),
    ...(a.log ? ['--log', a.log] : []),
    ...(a.uefi ? ['--uefi'] : []),
    ...(a.memory ? ['--memory', a.memory] : []),
    ...(a.screenshot ? ['--screenshot', a.screenshot] : []),
    ...(a.junit ? ['--junit', a.junit] : []),
    ...(a.json ? ['--json'] : []),
  ];
}

