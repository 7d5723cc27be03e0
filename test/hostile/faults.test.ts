/**
 * Faults, with the real program (node bin/inetboot.js): interrupts (SIGINT, SIGTERM) during
 * build-iso and during add-entry on a large config, a full disk (a small tmpfs) during build-iso
 * and add-entry, and the identity of an edited file (owner, group, mode, hard links, symlinks).
 * Every time: the previous files are intact, and no temporary file or directory is left, in the
 * output's directory or in TMPDIR (which the test gives each run fresh).
 *
 * The tmpfs and ownership tests need root (as CI runs); elsewhere they are skipped, saying why.
 */
import { chmodSync, chownSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, BIN, spawnBin } from '../helpers/cli.js';
import { outputDir } from '../helpers/paths.js';
import { scaled } from '../helpers/timeouts.js';

const OUT = outputDir('hostile-faults');
const ROOT = process.getuid?.() === 0;
const CONFIG_TEXT = 'timeout: 1\nentries:\n  - id: a\n    title: A\n    kernel: http://10.0.2.2:8080/vmlinuz\n';

/** A fresh, empty TMPDIR for one run of the program. */
function freshTmp(name: string): string {
  const dir = join(OUT, 'tmp', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function leftovers(dir: string, keep: string[]): string[] {
  return readdirSync(dir).filter((f) => !keep.includes(f));
}

/** Resolves once `text` has appeared on the child's stderr. */
function onStderr(child: ReturnType<typeof spawnBin>, text: string | RegExp): Promise<void> {
  return new Promise((resolve) => {
    let seen = '';
    child.stderr?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (typeof text === 'string' ? seen.includes(text) : text.test(seen)) resolve();
    });
  });
}

/** No process is left whose command line names `marker` (grub-mkrescue and xorriso name the output directory). */
async function noProcessesOf(marker: string): Promise<void> {
  const r = await execa('ps', ['-eo', 'args'], { reject: false });
  expect(r.stdout.split('\n').filter((l) => l.includes(marker) && !l.startsWith('ps '))).toEqual([]);
}

describe('interrupted build-iso', () => {
  const dir = join(OUT, 'build');
  const config = join(dir, 'inetboot.yaml');
  const iso = join(dir, 'old.iso');
  let before: Buffer;

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(config, CONFIG_TEXT);
    const r = await bin(['build-iso', '-c', config, '-o', iso]);
    expect(r.code, r.stderr).toBe(0);
    before = readFileSync(iso);
  }, scaled(300_000));

  const cases = [
    { signal: 'SIGINT', times: 1, when: /\+ \S*grub-mkrescue -o/, code: 130 },
    { signal: 'SIGTERM', times: 1, when: '==> preparing the preboot', code: 143 },
    // The terminal closed.
    { signal: 'SIGHUP', times: 1, when: '==> preparing the preboot', code: 129 },
    // The second signal quits at once, without waiting for the cleanup of the first.
    { signal: 'SIGINT', times: 2, when: /\+ \S*grub-mkrescue -o/, code: 130 },
  ] as const;
  for (const { signal, times, when, code } of cases) {
    it(`${signal} ${times === 1 ? 'once' : 'twice'} at "${String(when)}": exit ${code}, the old ISO as it was, no temporary file or process anywhere`, async () => {
      const tmp = freshTmp(`build-${signal}-${times}`);
      const child = spawnBin(['-v', 'build-iso', '-c', config, '-o', iso], { env: { TMPDIR: tmp } });
      await onStderr(child, when);
      for (let i = 0; i < times; i++) child.kill(signal);
      const r = await child;
      expect(r.exitCode, String(r.stderr)).toBe(code);
      if (times === 1) expect(String(r.stderr)).toContain(`inetboot: interrupted by ${signal}: stopped, and removed what was half written; earlier outputs are as they were`);
      expect(readFileSync(iso).equals(before)).toBe(true);
      expect(leftovers(dir, ['inetboot.yaml', 'old.iso'])).toEqual([]);
      expect(readdirSync(tmp)).toEqual([]);
      await noProcessesOf(dir);
    }, scaled(300_000));
  }
});

describe('interrupted add-entry on a large config', () => {
  it('SIGINT while the new file is being written: exit 130, the config byte for byte, no .tmp', async () => {
    const dir = join(OUT, 'large');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const config = join(dir, 'inetboot.yaml');
    // 15 MiB of comments (the limit is 16 MiB): the write and fsync of the new file take long
    // enough to be interrupted half-way.
    const text = `${'# a large comment line, to make the file big\n'.repeat(340_000)}${CONFIG_TEXT}`;
    const outcomes: number[] = [];
    for (let attempt = 0; attempt < 6 && !outcomes.includes(130); attempt++) {
      writeFileSync(config, text);
      const child = spawnBin(['add-entry', '-c', config, '--id', `n${attempt}`, '--title', 'N', '--kernel', 'http://10.0.2.2:8080/n']);
      let sent = false;
      const watcher = watch(dir, (_event, name) => {
        if (!sent && name && name.endsWith('.tmp')) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      const r = await child;
      watcher.close();
      outcomes.push(r.exitCode ?? -1);
      if (r.exitCode === 130) {
        expect(readFileSync(config, 'utf8') === text).toBe(true);
        expect(String(r.stderr)).toContain('inetboot: interrupted by SIGINT');
      } else {
        // Too late: the edit was complete before the signal was seen. Then it is whole.
        expect(r.exitCode, String(r.stderr)).toBe(0);
        expect(readFileSync(config, 'utf8')).toContain(`id: n${attempt}`);
      }
      expect(leftovers(dir, ['inetboot.yaml'])).toEqual([]);
    }
    expect(outcomes).toContain(130);
  }, scaled(300_000));
});

describe.skipIf(!ROOT)('a full disk (tmpfs; needs root)', () => {
  const mnt = join(OUT, 'full');
  const mounted: string[] = [];

  async function tmpfs(name: string, bytes: number): Promise<string> {
    const at = join(mnt, name);
    mkdirSync(at, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', at]);
    mounted.push(at);
    return at;
  }

  afterAll(async () => {
    for (const at of mounted) await execa('umount', [at], { reject: false });
  });

  it('build-iso onto a disk with no room for the new ISO: exit 1, the old ISO intact, no temporary file', async () => {
    const src = join(OUT, 'build', 'old.iso');
    const size = statSync(src).size;
    const disk = await tmpfs('iso', size + 512 * 1024);
    const iso = join(disk, 'old.iso');
    copyFileSync(src, iso);
    const before = readFileSync(iso);
    const config = join(OUT, 'build', 'inetboot.yaml');
    const tmp = freshTmp('full-iso');
    const r = await bin(['build-iso', '-c', config, '-o', iso], { env: { TMPDIR: tmp } });
    expect(r.code, r.stderr).toBe(1);
    // xorriso measures the free space before it writes, and refuses.
    expect(r.stderr).toMatch(/xorriso : FAILURE : Image size \d+s exceeds free space on media \d+s/);
    expect(readFileSync(iso).equals(before)).toBe(true);
    expect(readdirSync(disk)).toEqual(['old.iso']);
    expect(readdirSync(tmp)).toEqual([]);
  }, scaled(300_000));

  it('add-entry on a full disk: exit 1 with the reason, the config byte for byte, no temporary file', async () => {
    const disk = await tmpfs('config', 64 * 1024);
    const config = join(disk, 'inetboot.yaml');
    writeFileSync(config, CONFIG_TEXT);
    // Fill the rest of the disk.
    await execa('dd', ['if=/dev/zero', `of=${join(disk, 'filler')}`, 'bs=4k'], { reject: false });
    const r = await bin(['add-entry', '-c', config, '--id', 'b', '--title', 'B', '--kernel', 'http://10.0.2.2:8080/b']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`inetboot: error: cannot write ${config}: ENOSPC: no space left on device, write; the file was not changed`);
    expect(readFileSync(config, 'utf8')).toBe(CONFIG_TEXT);
    expect(readdirSync(disk).sort()).toEqual(['filler', 'inetboot.yaml']);
  });
});

describe.skipIf(!ROOT)('the identity of an edited config (needs root to own files of others)', () => {
  const dir = join(OUT, 'identity');

  beforeAll(() => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
  });

  it("root editing another user's 0640 config keeps its owner, group and mode", async () => {
    const config = join(dir, 'theirs.yaml');
    writeFileSync(config, CONFIG_TEXT);
    chownSync(config, 1000, 1001);
    chmodSync(config, 0o640);
    const r = await bin(['add-entry', '-c', config, '--id', 'b', '--title', 'B', '--kernel', 'http://10.0.2.2:8080/b']);
    expect(r.code, r.stderr).toBe(0);
    const st = statSync(config);
    expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }).toEqual({ uid: 1000, gid: 1001, mode: 0o640 });
    expect(readFileSync(config, 'utf8')).toContain('id: b');
  });

  it('hard links stay one file: every name shows the edit', async () => {
    const config = join(dir, 'linked.yaml');
    const other = join(dir, 'other-name.yaml');
    writeFileSync(config, CONFIG_TEXT);
    linkSync(config, other);
    const r = await bin(['add-entry', '-c', config, '--id', 'b', '--title', 'B', '--kernel', 'http://10.0.2.2:8080/b']);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(config).ino).toBe(statSync(other).ino);
    expect(statSync(config).nlink).toBe(2);
    expect(readFileSync(other, 'utf8')).toContain('id: b');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a symlink is written through and stays a symlink', async () => {
    const real = join(dir, 'real.yaml');
    const link = join(dir, 'link.yaml');
    writeFileSync(real, CONFIG_TEXT);
    symlinkSync('real.yaml', link);
    const r = await bin(['remove-entry', '-c', link, 'a']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(real, 'utf8')).toBe('timeout: 1\nentries: []\n');
    expect(readdirSync(dir)).toContain('link.yaml');
    expect(existsSync(link) && statSync(link).isFile()).toBe(true);
  });

  it('a user who may not give the file its owner edits it in place: owner and group stay', async () => {
    const config = join(dir, 'shared.yaml');
    writeFileSync(config, CONFIG_TEXT);
    chownSync(config, 1000, 1000);
    chmodSync(config, 0o666);
    const home = mkdtempSync(join(OUT, 'nobody-'));
    chmodSync(home, 0o777);
    const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'add-entry', '-c', config, '--id', 'b', '--title', 'B', '--kernel', 'http://10.0.2.2:8080/b'], {
      reject: false,
      env: { HOME: home },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const st = statSync(config);
    expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }).toEqual({ uid: 1000, gid: 1000, mode: 0o666 });
    expect(readFileSync(config, 'utf8')).toContain('id: b');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
