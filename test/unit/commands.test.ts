/** init, add-entry, list and remove-entry through main(): exit codes and output. No external tools. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { cli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { testTempDir } from '../helpers/temp.js';

const EXAMPLE = readFileSync(join(REPO_ROOT, 'examples', 'inetboot.yaml'), 'utf8');
const HEX = 'f'.repeat(64);

/** The CLI in-process, quiet (-q): only errors reach stderr. */
const run = (...args: string[]) => cli('-q', ...args);

function newConfigPath(): string {
  return join(testTempDir('inetboot-cmd-'), 'inetboot.yaml');
}

describe('init', () => {
  test('writes the example, and refuses to overwrite without --force', async () => {
    const file = newConfigPath();
    expect(await run('init', '-c', file)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(readFileSync(file, 'utf8')).toBe(EXAMPLE);

    writeFileSync(file, 'timeout: 1\n');
    expect(await run('init', '-c', file)).toEqual({ code: 2, stdout: '', stderr: `inetboot: error: ${file} exists already: use --force to overwrite it\n` });
    expect(readFileSync(file, 'utf8')).toBe('timeout: 1\n');

    expect((await run('init', '-c', file, '--force')).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(EXAMPLE);
  });
});

describe('add-entry', () => {
  test('adds an entry and makes it the default', async () => {
    const file = newConfigPath();
    writeFileSync(file, EXAMPLE);
    const r = await run('add-entry', '-c', file, '--id', 'tiny', '--title', 'Tiny', '--kernel', 'http://10.0.2.2:8080/bzImage', '--kernel-sha256', HEX.toUpperCase(), '--append', 'console=ttyS0', '--default');
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(
      EXAMPLE.replace('default: debian     #', 'default: tiny       #') +
        `  - id: tiny\n    title: Tiny\n    kernel:\n      url: http://10.0.2.2:8080/bzImage\n      sha256: "${HEX}"\n    append: console=ttyS0\n`,
    );
  });

  test('a duplicate id is refused and the file is unchanged', async () => {
    const file = newConfigPath();
    writeFileSync(file, EXAMPLE);
    const r = await run('add-entry', '-c', file, '--id', 'debian', '--title', 'Again', '--kernel', 'http://10.0.2.2:8080/linux');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`inetboot: error: ${file}: an entry with id "debian" exists already (entries[0]): choose another id, or remove that entry first (inetboot remove-entry debian)\n`);
    expect(readFileSync(file, 'utf8')).toBe(EXAMPLE);
  });

  test('bad flag values are named by their flag', async () => {
    const file = newConfigPath();
    writeFileSync(file, EXAMPLE);
    const r = await run('add-entry', '-c', file, '--id', 'Bad', '--title', 'T', '--kernel', 'ftp://10.0.2.2/linux', '--kernel-sha256', '123', '--initrd-sha256', HEX);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      [
        'inetboot: error: --id: must match [a-z0-9][a-z0-9._-]*: lower-case letters, digits, ".", "_" and "-", starting with a letter or digit',
        '--kernel: scheme "ftp" is not supported: write an http:// or https:// URL',
        '--kernel-sha256: must be exactly 64 hexadecimal characters (the output of sha256sum)',
        '--initrd-sha256: needs --initrd with the URL it belongs to',
        '',
      ].join('\n'),
    );
    expect(readFileSync(file, 'utf8')).toBe(EXAMPLE);
  });

  test('--root adds a root entry pinned by --root-sha256, which the config then loads', async () => {
    const file = newConfigPath();
    writeFileSync(file, EXAMPLE);
    const r = await run('add-entry', '-c', file, '--id', 'd12', '--title', 'Debian 12', '--root', 'http://10.0.2.2:8080/d12/root.json', '--root-sha256', HEX, '--append', 'console=ttyS0');
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(`${EXAMPLE}  - id: d12\n    title: Debian 12\n    root:\n      url: http://10.0.2.2:8080/d12/root.json\n      sha256: "${HEX}"\n    append: console=ttyS0\n`);
    expect((await run('list', '-c', file)).stdout).toContain('d12     Debian 12            root http://10.0.2.2:8080/d12/root.json (sha256)');
  });

  test('--root without its sha256, or beside --kernel or --initrd, is refused and the file is unchanged', async () => {
    const file = newConfigPath();
    writeFileSync(file, EXAMPLE);
    const base = ['add-entry', '-c', file, '--id', 'd12', '--title', 'D'];
    expect(await run(...base, '--root', 'http://10.0.2.2:8080/d12/root.json')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'inetboot: error: --root: needs --root-sha256 HEX, the sha256 inetboot publish printed (an unverified root is written by hand: root_unverified: true)\n',
    });
    const both = await run(...base, '--root', 'http://10.0.2.2:8080/d12/root.json', '--root-sha256', HEX, '--kernel', 'http://10.0.2.2:8080/linux', '--initrd', 'http://10.0.2.2:8080/initrd');
    expect(both.code).toBe(2);
    expect(both.stderr).toBe(
      'inetboot: error: --root: cannot be combined with --kernel: a published root brings its own kernel; add two entries\n--initrd: cannot be combined with --root: a published root brings its own miniroot\n',
    );
    expect((await run(...base)).stderr).toBe('inetboot: error: give --kernel URL (a kernel to kexec) or --root URL (the root.json of a root published with inetboot publish)\n');
    expect((await run(...base, '--kernel', 'http://10.0.2.2:8080/linux', '--root-sha256', HEX)).stderr).toBe('inetboot: error: --root-sha256: needs --root with the URL it belongs to\n');
    expect(readFileSync(file, 'utf8')).toBe(EXAMPLE);
  });

  test('a missing config file says to run init', async () => {
    const file = newConfigPath();
    const r = await run('add-entry', '-c', file, '--id', 'a', '--title', 'A', '--kernel', 'http://10.0.2.2:8080/a');
    expect(r).toEqual({ code: 2, stdout: '', stderr: `inetboot: error: ${file}: no such file: run "inetboot init" to create one, or pass -c PATH\n` });
    expect(existsSync(file)).toBe(false);
  });

  test('a missing required flag is a usage error from commander', async () => {
    const r = await run('add-entry', '-c', newConfigPath(), '--id', 'a');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '--title <title>' not specified");
  });
});

describe('list', () => {
  test('a table with the default marked', async () => {
    const file = newConfigPath();
    writeFileSync(file, EXAMPLE);
    expect((await run('add-entry', '-c', file, '--id', 'tiny', '--title', 'Tiny test kernel', '--kernel', 'http://10.0.2.2:8080/bzImage', '--kernel-sha256', HEX)).code).toBe(0);
    expect(await run('list', '-c', file)).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        '   ID      TITLE                KERNEL',
        '*  debian  Debian 12 installer  http://10.0.2.2:8080/linux',
        '   tiny    Tiny test kernel     http://10.0.2.2:8080/bzImage (sha256)',
        '',
        '* default, boots after 5 s',
        '',
      ].join('\n'),
    });
  });

  test('--json prints the normalised config', async () => {
    const file = newConfigPath();
    writeFileSync(file, EXAMPLE);
    const r = await run('list', '-c', file, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      timeout: 5,
      default: 'debian',
      serial: true,
      entries: [
        {
          id: 'debian',
          title: 'Debian 12 installer',
          kernel: { url: 'http://10.0.2.2:8080/linux' },
          initrd: { url: 'http://10.0.2.2:8080/initrd.gz' },
          append: 'console=ttyS0 priority=low',
        },
      ],
    });
  });

  test('no entries, and a broken config', async () => {
    const file = newConfigPath();
    writeFileSync(file, 'entries: []\n');
    expect(await run('list', '-c', file)).toEqual({ code: 0, stderr: '', stdout: `no entries in ${file}: add one with inetboot add-entry\n` });
    writeFileSync(file, 'timeout: soon\n');
    expect(await run('list', '-c', file)).toEqual({ code: 2, stdout: '', stderr: `inetboot: error: ${file}:1: timeout: is a string: must be a whole number of seconds, e.g. timeout: 5\n` });
  });
});

describe('remove-entry', () => {
  test('removes an entry; the default moves to the first remaining one', async () => {
    const file = newConfigPath();
    writeFileSync(file, EXAMPLE);
    expect((await run('add-entry', '-c', file, '--id', 'tiny', '--title', 'Tiny', '--kernel', 'http://10.0.2.2:8080/bzImage')).code).toBe(0);
    expect(await run('remove-entry', '-c', file, 'debian')).toEqual({ code: 0, stdout: '', stderr: '' });
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('default: tiny       # id of the entry');
    expect(text).not.toContain('\n  - id: debian\n');
    expect((await run('remove-entry', '-c', file, 'tiny')).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('\nentries: []\n');
  });

  test('an unknown id lists the existing ids', async () => {
    const file = newConfigPath();
    writeFileSync(file, EXAMPLE);
    expect(await run('remove-entry', '-c', file, 'ubuntu')).toEqual({ code: 2, stdout: '', stderr: `inetboot: error: ${file}: no entry has id "ubuntu": the ids are debian\n` });
    expect(readFileSync(file, 'utf8')).toBe(EXAMPLE);
  });
});
