/**
 * The README's first command, `inetboot demo`, as a newcomer runs it (the installed program,
 * bin/inetboot.js): Debian 12's network installer fetched with apt-get download, served from
 * 127.0.0.1 by inetboot's server, the example config pinned to it, built into an ISO and booted
 * in QEMU (BIOS, TCG) to the installer's first screen on the serial console. Everything is kept
 * under test-output/demo/ (console.log, screen.png, the ISO). Then `inetboot run` boots that ISO
 * with the console on a pipe, keys typed into it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { INSTALLER_SCREEN } from '../../src/demo/installer.js';
import { sha256Hex } from '../../src/files/hash.js';
import { stripAnsi } from '../../src/qemu/boot.js';
import { BIN, bin } from '../helpers/cli.js';
import { outputDir } from '../helpers/paths.js';
import { readPng } from '../helpers/png.js';
import { scaled } from '../helpers/timeouts.js';

const dir = outputDir('demo');

it(
  "inetboot demo: the installer's first screen, its files served from 127.0.0.1 and pinned, a console log and a screenshot",
  async () => {
    // --port 0: a free port, so that a server of another test or of the user cannot be in the way.
    const r = await bin(['demo', '-o', dir, '--port', '0', '--timeout', String(scaled(600))]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/The medium works: Debian's installer showed its first screen \d+\.\d s after power-on/);

    // The guest fetched both files from inetboot's server: one access-log line each.
    expect(r.stderr).toMatch(/served GET \/linux 200 \(\d+ bytes\)/);
    expect(r.stderr).toMatch(/served GET \/initrd\.gz 200 \(\d+ bytes\)/);

    // The example config with the entry pinned to what was served.
    const { config } = parseConfig(readFileSync(join(dir, 'inetboot.yaml'), 'utf8'), 'demo/inetboot.yaml');
    const entry = config.entries.find((e) => e.id === 'debian')!;
    expect(entry.kernel?.sha256).toBe(sha256Hex(readFileSync(join(dir, 'www', 'linux'))));
    expect(entry.initrd?.sha256).toBe(sha256Hex(readFileSync(join(dir, 'www', 'initrd.gz'))));
    expect(entry.append).toBe('console=ttyS0 priority=low');
    expect(entry.kernel?.url).toMatch(/^http:\/\/10\.0\.2\.2:\d+\/linux$/);

    const log = readFileSync(join(dir, 'console.log'), 'utf8');
    expect(log).toContain('inetboot: preboot started');
    expect(log).toContain(INSTALLER_SCREEN);
    expect(r.stderr).toContain(`console log:    ${join(dir, 'console.log')}`);

    // The VGA screen in text mode: the preboot's messages, before kexec.
    const pic = readPng(join(dir, 'screen.png'));
    expect(pic).toMatchObject({ width: 720, height: 400 });
    expect(pic.foreground).toBeGreaterThan(0.01);
    expect(r.stderr).toContain(`screenshot:     ${join(dir, 'screen.png')}`);
  },
  scaled(900_000),
);

it(
  'inetboot run on the demo ISO: keys typed reach the guest (GRUB\'s command line), --serve serves the installer, Ctrl-] leaves with exit 0',
  async () => {
    const { config } = parseConfig(readFileSync(join(dir, 'inetboot.yaml'), 'utf8'), 'demo/inetboot.yaml');
    const port = new URL(config.entries[0]!.kernel!.url!).port;
    const log = join(dir, 'run.console.log');
    const child = execa(process.execPath, [BIN, 'run', join(dir, 'inetboot.iso'), '--serve', join(dir, 'www'), '--port', port, '--log', log, '-v'], { reject: false, stdin: 'pipe' });
    let out = '';
    const seen = (text: string, timeoutMs: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`"${text}" did not appear within ${timeoutMs} ms; the console so far:\n${out.slice(-2000)}`)), timeoutMs);
        const check = () => {
          if (stripAnsi(out).includes(text)) {
            clearTimeout(timer);
            child.stdout!.off('data', onData);
            resolve();
          }
        };
        const onData = (b: Buffer) => {
          out += b.toString('latin1');
          check();
        };
        child.stdout!.on('data', onData);
        check();
      });
    try {
      // The menu counts down from 5 s: "c" opens GRUB's command line before it ends.
      await seen('Debian 12 installer', scaled(120_000));
      child.stdin!.write('c');
      await seen('grub>', scaled(30_000));
      // The output differs from what was typed (GRUB echoes keys): only GRUB's own echo shows it.
      child.stdin!.write('set v=typed; echo run-keys-$v\r');
      await seen('run-keys-typed', scaled(30_000));
      // Back to the menu, which boots the default entry: the installer, from --serve's server.
      child.stdin!.write('normal\r');
      await seen(INSTALLER_SCREEN, scaled(600_000));
      child.stdin!.write(Buffer.from([0x1d]));
      const r = await child;
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stderr)).toContain('left the console; QEMU stopped');
      expect(String(r.stderr)).toMatch(/served GET \/initrd\.gz 200/);
      expect(readFileSync(log, 'utf8')).toContain(INSTALLER_SCREEN);
    } finally {
      child.kill('SIGKILL');
    }
  },
  scaled(900_000),
);
