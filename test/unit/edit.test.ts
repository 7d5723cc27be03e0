/** Comment-preserving edits and the atomic write. No external tools. */
import { chmodSync, constants as fsConstants, linkSync, readdirSync, readFileSync, statSync, symlinkSync, lstatSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { addEntryCommand } from '../../src/commands/add-entry.js';
import { writeFileReplacing } from '../../src/files/replace.js';
import { addEntry, removeEntry, type NewEntry } from '../../src/config/edit.js';
import { parseConfig } from '../../src/config/load.js';
import { OperationError, UsageError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { testTempDir } from '../helpers/temp.js';

const HEX = '0123456789abcdef'.repeat(4);
const EXAMPLE = readFileSync(join(REPO_ROOT, 'examples', 'inetboot.yaml'), 'utf8');

/** Comments in odd places, aligned inline comments, blank lines between entries. */
const FILE = `# my boot menu
timeout: 10     # ten seconds
default: b      # the second one

entries:
  # first
  - id: a         # short
    title: "A: first"
    kernel: http://10.0.2.2:8080/a

  - id: b
    title: B
    kernel:
      url: http://10.0.2.2:8080/b   # pinned
      sha256: "${HEX}"
    append: console=ttyS0
# trailing comment
`;

const TINY: NewEntry = { id: 'tiny', title: 'Tiny', kernel: { url: 'http://10.0.2.2:8080/tiny' } };

function tempDir(): string {
  return testTempDir('inetboot-edit-');
}

describe('addEntry', () => {
  test('appends after the last entry and changes no other byte', () => {
    const after = addEntry(parseConfig(FILE, 'f.yaml'), TINY);
    expect(after).toBe(FILE.replace('# trailing comment\n', '\n  - id: tiny\n    title: Tiny\n    kernel: http://10.0.2.2:8080/tiny\n# trailing comment\n'));
  });

  test('the example: the new entry is the last lines, everything before is unchanged', () => {
    const entry: NewEntry = {
      id: 'tiny',
      title: 'Tiny: test kernel',
      kernel: { url: 'http://10.0.2.2:8080/bzImage', sha256: HEX },
      initrd: { url: 'http://10.0.2.2:8080/initrd.cpio.gz' },
      append: 'console=ttyS0 rdinit=/init',
    };
    expect(addEntry(parseConfig(EXAMPLE, 'f.yaml'), entry)).toBe(
      EXAMPLE +
        `  - id: tiny
    title: "Tiny: test kernel"
    kernel:
      url: http://10.0.2.2:8080/bzImage
      sha256: "${HEX}"
    initrd: http://10.0.2.2:8080/initrd.cpio.gz
    append: console=ttyS0 rdinit=/init
`,
    );
  });

  test('makeDefault changes only the value of default:, keeping its comment in place', () => {
    const after = addEntry(parseConfig(FILE, 'f.yaml'), TINY, { makeDefault: true });
    expect(after.split('\n')[2]).toBe('default: tiny   # the second one');
    expect(parseConfig(after, 'f.yaml').config.default).toBe('tiny');
  });

  test('makeDefault adds default: after the key before entries when there is none', () => {
    const text = 'timeout: 3   # t\n\n# the menu\nentries:\n  - id: a\n    title: A\n    kernel: http://10.0.2.2:8080/a\n';
    const after = addEntry(parseConfig(text, 'f.yaml'), TINY, { makeDefault: true });
    expect(after).toBe(`timeout: 3   # t\ndefault: tiny\n\n# the menu\nentries:\n  - id: a\n    title: A\n    kernel: http://10.0.2.2:8080/a\n  - id: tiny\n    title: Tiny\n    kernel: http://10.0.2.2:8080/tiny\n`);
  });

  test('adds entries: when the file has none, and fills entries: []', () => {
    const item = '  - id: tiny\n    title: Tiny\n    kernel: http://10.0.2.2:8080/tiny\n';
    expect(addEntry(parseConfig('', 'f.yaml'), TINY)).toBe(`entries:\n${item}`);
    expect(addEntry(parseConfig('timeout: 3 # t', 'f.yaml'), TINY)).toBe(`timeout: 3 # t\nentries:\n${item}`);
    expect(addEntry(parseConfig('entries: []   # none yet\nserial: false\n', 'f.yaml'), TINY)).toBe(`entries:   # none yet\n${item}serial: false\n`);
  });

  test('quotes values that YAML would read as something else', () => {
    const after = addEntry(parseConfig('', 'f.yaml'), { id: '123', title: 'true', kernel: { url: 'http://10.0.2.2:8080/x' }, append: 'a: b' });
    expect(after).toBe('entries:\n  - id: "123"\n    title: "true"\n    kernel: http://10.0.2.2:8080/x\n    append: "a: b"\n');
    expect(parseConfig(after, 'f.yaml').config.entries[0]).toMatchObject({ id: '123', title: 'true', append: 'a: b' });
  });

  test('keeps CRLF line ends', () => {
    const after = addEntry(parseConfig('entries:\r\n  - id: a\r\n    title: A\r\n    kernel: http://10.0.2.2:8080/a\r\n', 'f.yaml'), TINY);
    expect(after).toBe('entries:\r\n  - id: a\r\n    title: A\r\n    kernel: http://10.0.2.2:8080/a\r\n  - id: tiny\r\n    title: Tiny\r\n    kernel: http://10.0.2.2:8080/tiny\r\n');
  });

  test('refuses a duplicate id', () => {
    expect(() => addEntry(parseConfig(FILE, 'f.yaml'), { ...TINY, id: 'b' })).toThrow(
      new UsageError('f.yaml: an entry with id "b" exists already (entries[1]): choose another id, or remove that entry first (inetboot remove-entry b)'),
    );
  });

  test('a flow-style file is still edited correctly', () => {
    const after = addEntry(parseConfig('{timeout: 3, entries: [{id: a, title: A, kernel: "http://10.0.2.2:8080/a"}]}\n', 'f.yaml'), TINY);
    expect(parseConfig(after, 'f.yaml').config.entries.map((e) => e.id)).toEqual(['a', 'tiny']);
  });

  test('add-entry on a file leaves it byte-identical when it refuses', async () => {
    const file = join(tempDir(), 'inetboot.yaml');
    writeFileSync(file, FILE);
    const opts = { config: file, id: 'a', title: 'Again', kernel: 'http://10.0.2.2:8080/a' };
    await expect(addEntryCommand(opts, { log: silentLogger() })).rejects.toThrow(UsageError);
    await expect(addEntryCommand({ ...opts, id: 'new', kernelSha256: 'abc' }, { log: silentLogger() })).rejects.toThrow('--kernel-sha256: must be exactly 64 hexadecimal characters');
    expect(readFileSync(file, 'utf8')).toBe(FILE);
  });
});

describe('removeEntry', () => {
  test('removes the lines of the entry and one blank line next to it', () => {
    const after = removeEntry(parseConfig(FILE, 'f.yaml'), 'a');
    expect(after).toBe(FILE.replace('  # first\n  - id: a         # short\n    title: "A: first"\n    kernel: http://10.0.2.2:8080/a\n\n', '  # first\n'));
  });

  test('removing the default sets default: to the first remaining entry', () => {
    const after = removeEntry(parseConfig(FILE, 'f.yaml'), 'b');
    expect(after).toBe(
      FILE.replace('default: b      #', 'default: a      #').replace(
        `\n\n  - id: b\n    title: B\n    kernel:\n      url: http://10.0.2.2:8080/b   # pinned\n      sha256: "${HEX}"\n    append: console=ttyS0\n`,
        '\n',
      ),
    );
  });

  test('removing the last entry leaves entries: [] and drops default:', () => {
    const after = removeEntry(parseConfig(EXAMPLE, 'f.yaml'), 'debian');
    const expected = EXAMPLE.replace(/^default: .*\n/m, '').replace(/^entries:\n[^]*$/m, 'entries: []\n');
    expect(after).toBe(expected);
    expect(parseConfig(after, 'f.yaml').config).toEqual({ timeout: 5, serial: true, entries: [] });
  });

  test('an unknown id lists the ids', () => {
    expect(() => removeEntry(parseConfig(FILE, 'f.yaml'), 'c')).toThrow(new UsageError('f.yaml: no entry has id "c": the ids are a, b'));
  });

  test('add then remove gives the original text back', () => {
    const added = addEntry(parseConfig(FILE, 'f.yaml'), TINY);
    expect(removeEntry(parseConfig(added, 'f.yaml'), 'tiny')).toBe(FILE);
  });
});

describe('writeFileReplacing (files/replace.ts)', () => {
  test('replaces the content and keeps the file mode', async () => {
    const file = join(tempDir(), 'c.yaml');
    writeFileSync(file, 'old\n');
    chmodSync(file, 0o640);
    await writeFileReplacing(file, 'new\n');
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(statSync(file).mode & 0o777).toBe(0o640);
  });

  test('through a symlink, writes the target and keeps the link', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'real.yaml'), 'old\n');
    symlinkSync('real.yaml', join(dir, 'link.yaml'));
    await writeFileReplacing(join(dir, 'link.yaml'), 'new\n');
    expect(lstatSync(join(dir, 'link.yaml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'real.yaml'), 'utf8')).toBe('new\n');
  });

  // Root ignores file permissions, so failures are injected instead of provoked.
  test('a failed rename leaves the original and no temporary file', async () => {
    const dir = tempDir();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'old\n');
    const rename = async () => {
      throw Object.assign(new Error('EXDEV: simulated'), { code: 'EXDEV' });
    };
    const err = await writeFileReplacing(file, 'new\n', { fs: { rename } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toBe(`cannot write ${file}: EXDEV: simulated; the file was not changed`);
    expect(readFileSync(file, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['c.yaml']);
  });

  test('a failure while writing the data leaves the original and no temporary file', async () => {
    const dir = tempDir();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'old\n');
    const open = (async (...args: Parameters<typeof fsp.open>) => {
      const fh = await fsp.open(...args);
      if (args[1] === 'wx') {
        fh.writeFile = async () => {
          throw new Error('ENOSPC: simulated');
        };
      }
      return fh;
    }) as typeof fsp.open;
    await expect(writeFileReplacing(file, 'new\n', { fs: { open } })).rejects.toThrow('ENOSPC: simulated; the file was not changed');
    expect(readFileSync(file, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['c.yaml']);
  });

  test('a file with two hard links is rewritten in place: both names show the new content, one inode', async () => {
    const dir = tempDir();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'old content, longer than the new\n');
    linkSync(file, join(dir, 'other.yaml'));
    await writeFileReplacing(file, 'new\n');
    expect(readFileSync(join(dir, 'other.yaml'), 'utf8')).toBe('new\n');
    expect(statSync(file).ino).toBe(statSync(join(dir, 'other.yaml')).ino);
    expect(readdirSync(dir).sort()).toEqual(['c.yaml', 'other.yaml']);
  });

  test('an in-place rewrite that breaks off keeps the whole new content beside the file and says where', async () => {
    const dir = tempDir();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'old content, longer than the new\n');
    linkSync(file, join(dir, 'other.yaml'));
    const open = (async (...args: Parameters<typeof fsp.open>) => {
      const fh = await fsp.open(...args);
      // The copy over the target (opened write-only): its first write fails.
      if (args[0] === file && args[1] === fsConstants.O_WRONLY) {
        fh.write = (async () => {
          throw new Error('EIO: simulated');
        }) as typeof fh.write;
      }
      return fh;
    }) as typeof fsp.open;
    const err = await writeFileReplacing(file, 'new\n', { fs: { open } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    const tmp = readdirSync(dir).find((f) => f.endsWith('.tmp'));
    expect((err as Error).message).toBe(`cannot finish rewriting ${file} in place (EIO: simulated): it may be half new; its whole new content is in ${join(dir, tmp ?? '?')}`);
    expect(readFileSync(join(dir, tmp!), 'utf8')).toBe('new\n');
  });

  test('a directory that does not exist is an OperationError', async () => {
    await expect(writeFileReplacing(join(tempDir(), 'no', 'c.yaml'), 'x')).rejects.toThrow(OperationError);
  });
});
