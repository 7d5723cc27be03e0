/** Reading the config: exact messages with file:line and key path. No external tools. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { problems } from '../helpers/config.js';
import { testTempDir } from '../helpers/temp.js';

const HEX = 'ab'.repeat(32);

/** A valid entry list around one line that the test changes. */
function withEntry(lines: string): string {
  return `timeout: 5
entries:
  - id: debian
    title: Debian
    kernel: http://10.0.2.2:8080/linux
${lines}`;
}


describe('parseConfig: valid files', () => {
  test('kernel: URL is normalised to {url}, defaults filled in', () => {
    const { config } = parseConfig(withEntry('    initrd: {url: "http://10.0.2.2:8080/initrd.gz", sha256: "' + HEX.toUpperCase() + '"}\n'), 'ib.yaml');
    expect(config).toEqual({
      timeout: 5,
      serial: true,
      entries: [
        {
          id: 'debian',
          title: 'Debian',
          kernel: { url: 'http://10.0.2.2:8080/linux' },
          initrd: { url: 'http://10.0.2.2:8080/initrd.gz', sha256: HEX },
          append: '',
        },
      ],
    });
  });

  test('an empty file, or one with only comments, gives the defaults', () => {
    expect(parseConfig('', 'ib.yaml').config).toEqual({ timeout: 5, serial: true, entries: [] });
    expect(parseConfig('# nothing yet\n', 'ib.yaml').config).toEqual({ timeout: 5, serial: true, entries: [] });
  });

  test('the shipped example is valid', () => {
    const text = readFileSync(join(REPO_ROOT, 'examples', 'inetboot.yaml'), 'utf8');
    const { config } = parseConfig(text, 'inetboot.yaml');
    expect(config.default).toBe('debian');
    expect(config.entries.map((e) => e.id)).toEqual(['debian']);
    for (const e of config.entries) expect(new URL((e.kernel as { url: string }).url).host).toBe('10.0.2.2:8080');
  });

  test('the pinned entry shown in the example comments is valid once filled in', () => {
    const text = readFileSync(join(REPO_ROOT, 'examples', 'inetboot.yaml'), 'utf8');
    const commented = text.split('\n').filter((l) => l.startsWith('#   ') || l === '#   - id: debian-verified');
    const pinned = commented
      .slice(commented.findIndex((l) => l.includes('- id: debian-verified')))
      .map((l) => l.slice(1).replace('<64 hexadecimal characters>', HEX))
      .join('\n');
    const { config } = parseConfig(`entries:\n${pinned}\n`, 'x.yaml');
    expect(config.entries[0]?.kernel).toEqual({ url: 'http://10.0.2.2:8080/linux', sha256: HEX });
  });
});

describe('parseConfig: messages', () => {
  test('unknown top-level key', () => {
    expect(problems('timeout: 5\nentires: []\n')).toEqual([
      'ib.yaml:2: entires: unknown key "entires": allowed keys are timeout, default, serial, mirrors, network, proxy, pass_network, tls, preboot, entries (did you mean "entries"?)',
    ]);
  });

  test('unknown entry key', () => {
    expect(problems(withEntry('    kernal_args: quiet\n'))).toEqual([
      'ib.yaml:6: entries[0].kernal_args: unknown key "kernal_args": allowed keys are id, title, kernel, initrd, append, tls_verify, hypervisor, hypervisor_append, iscript, root, root_unverified, shell',
    ]);
  });

  test('unknown key inside an artifact mapping', () => {
    expect(problems(withEntry(`    initrd:\n      url: http://10.0.2.2:8080/initrd.gz\n      sh256: "${HEX}"\n`))).toEqual([
      'ib.yaml:8: entries[0].initrd.sh256: unknown key "sh256": allowed keys are url, urls, mirror, path, sha256, size (did you mean "sha256"?)',
    ]);
  });

  test('bad id', () => {
    expect(problems('entries:\n  - id: Debian\n    title: D\n    kernel: http://10.0.2.2:8080/linux\n')).toEqual([
      'ib.yaml:2: entries[0].id: must match [a-z0-9][a-z0-9._-]*: lower-case letters, digits, ".", "_" and "-", starting with a letter or digit',
    ]);
  });

  test('duplicate id names the line of the first', () => {
    expect(problems(withEntry('  - id: debian\n    title: Again\n    kernel: http://10.0.2.2:8080/linux\n'))).toEqual([
      'ib.yaml:6: entries[1].id: duplicate id "debian": entries[0] on line 3 has it already; give each entry its own id',
    ]);
  });

  test('default that names no entry lists the ids', () => {
    expect(problems(`default: ubuntu\n${withEntry('')}`)).toEqual(['ib.yaml:1: default: no entry has id "ubuntu": write one of debian']);
    expect(problems('default: ubuntu\n')).toEqual([
      'ib.yaml:1: default: no entry has id "ubuntu", because there are no entries: add one (inetboot add-entry), or remove the default key',
    ]);
  });

  test('a kernel that is not a URL', () => {
    expect(problems(withEntry('    initrd: initrd.gz\n'))).toEqual([
      'ib.yaml:6: entries[0].initrd: "initrd.gz" is not a URL: write an absolute http:// or https:// URL, e.g. http://10.0.2.2:8080/linux',
    ]);
  });

  test('ftp scheme, in both forms', () => {
    const expected = 'scheme "ftp" is not supported: write an http:// or https:// URL';
    expect(problems(withEntry('    initrd: ftp://10.0.2.2/initrd.gz\n'))).toEqual([`ib.yaml:6: entries[0].initrd: ${expected}`]);
    expect(problems(withEntry('    initrd:\n      url: ftp://10.0.2.2/initrd.gz\n'))).toEqual([`ib.yaml:7: entries[0].initrd.url: ${expected}`]);
  });

  test('sha256 written as a number', () => {
    expect(problems(withEntry('    initrd: {url: http://10.0.2.2:8080/initrd.gz, sha256: 123}\n'))).toEqual([
      'ib.yaml:6: entries[0].initrd.sha256: is a number: must be 64 hexadecimal characters written as a quoted string, e.g. sha256: "9f86d0..."',
    ]);
  });

  test('sha256 of the wrong length', () => {
    expect(problems(withEntry(`    initrd:\n      url: http://10.0.2.2:8080/initrd.gz\n      sha256: "${HEX.slice(1)}"\n`))).toEqual([
      'ib.yaml:8: entries[0].initrd.sha256: must be exactly 64 hexadecimal characters (the output of sha256sum)',
    ]);
  });

  test('a kernel that is neither a string nor a mapping, and a missing one', () => {
    expect(problems(withEntry('    initrd: [a, b]\n'))).toEqual([
      'ib.yaml:6: entries[0].initrd: is a list: must be a URL, or a mapping {url: URL, sha256: HEX} (or urls: [URL, ...], or mirror: GROUP with path: PATH)',
    ]);
    expect(problems('entries:\n  - id: a\n    title: A\n')).toEqual([
      'ib.yaml:2: entries[0]: boots nothing: write kernel: URL (a Linux kernel; add hypervisor: URL to start it under Xen), iscript: URL (a script the preboot runs), root: {url: URL/root.json, sha256: HEX} (a root published with inetboot publish), or shell: true (a shell in the preboot)',
    ]);
  });

  test('title starting with "-"', () => {
    expect(problems('entries:\n  - id: a\n    title: --help\n    kernel: http://10.0.2.2:8080/linux\n')).toEqual([
      'ib.yaml:3: entries[0].title: must not start with "-" (GRUB would read it as an option of menuentry)',
    ]);
  });

  test('title with a newline', () => {
    expect(problems('entries:\n  - id: a\n    title: "two\\nlines"\n    kernel: http://10.0.2.2:8080/linux\n')).toEqual([
      'ib.yaml:3: entries[0].title: must not contain control characters (tabs, newlines)',
    ]);
  });

  test('append with an unbalanced quote', () => {
    expect(problems(withEntry(`    append: 'console=ttyS0 foo="bar'\n`))).toEqual([
      'ib.yaml:6: entries[0].append: has an unbalanced double quote: the kernel groups words only between pairs of "',
    ]);
  });

  test('timeout that is not a whole number', () => {
    expect(problems('timeout: 2.5\n')).toEqual(['ib.yaml:1: timeout: must be a whole number of seconds']);
    expect(problems('timeout: "5"\n')).toEqual(['ib.yaml:1: timeout: is a string: must be a whole number of seconds, e.g. timeout: 5']);
  });

  test('several problems at once, in file order', () => {
    expect(problems('serial: yes\nentries:\n  - id: A\n    title: t\n    kernel: http://10.0.2.2:8080/linux\ntimeout: -2\n')).toEqual([
      'ib.yaml:1: serial: is a string: must be true or false',
      'ib.yaml:3: entries[0].id: must match [a-z0-9][a-z0-9._-]*: lower-case letters, digits, ".", "_" and "-", starting with a letter or digit',
      'ib.yaml:6: timeout: must be -1 (wait for a choice) or more',
    ]);
  });

  test('entries that are not a list, and an entry that is not a mapping', () => {
    expect(problems('entries:\n  id: a\n')).toEqual(['ib.yaml:1: entries: is a mapping: must be a list of entries, each starting with "- id: ..."']);
    expect(problems('entries:\n  - debian\n')).toEqual(['ib.yaml:2: entries[0]: is a string: must be a mapping with the keys id, title, kernel, initrd, append, tls_verify, hypervisor, hypervisor_append, iscript, root, root_unverified, shell']);
  });

  test('a file that is not a mapping', () => {
    expect(problems('- a\n- b\n')).toEqual(['ib.yaml:1: must be a YAML mapping of the keys timeout, default, serial, mirrors, network, proxy, pass_network, tls, preboot, entries, like the file "inetboot init" writes']);
  });

  test('YAML syntax error', () => {
    expect(problems('timeout: 5\nentries: [a, b\nserial: true\n')).toEqual([
      'ib.yaml:3: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    expect(problems('timeout: 5\ndefault: "debian\n')).toEqual(['ib.yaml:3: YAML syntax error: Missing closing "quote']);
  });

  test('YAML duplicate key', () => {
    expect(problems('timeout: 5\nserial: true\ntimeout: 3\n')).toEqual(['ib.yaml:3: timeout: duplicate key "timeout": it is already set on line 1; keep one of them']);
    expect(problems(withEntry('    title: Twice\n'))).toEqual(['ib.yaml:6: entries[0].title: duplicate key "title": it is already set on line 4; keep one of them']);
  });

  test('more than one YAML document', () => {
    expect(problems('timeout: 5\n---\ntimeout: 6\n')).toEqual(['ib.yaml:2: the file holds more than one YAML document (a "---" line after the first keys): keep one']);
  });

  test('the error carries the problems for callers', () => {
    try {
      parseConfig('timeout: x\n', 'ib.yaml');
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([{ file: 'ib.yaml', line: 1, path: 'timeout', message: 'is a string: must be a whole number of seconds, e.g. timeout: 5' }]);
    }
  });
});

describe('loadConfig', () => {
  test('a missing file says how to create one', async () => {
    const file = join(testTempDir('inetboot-'), 'inetboot.yaml');
    await expect(loadConfig(file)).rejects.toThrow(new ConfigError([{ file, path: '', message: 'no such file: run "inetboot init" to create one, or pass -c PATH' }]));
    await expect(loadConfig(file)).rejects.toThrow(`${file}: no such file: run "inetboot init" to create one, or pass -c PATH`);
  });

  test('reads and parses a file', async () => {
    const loaded = await loadConfig(join(REPO_ROOT, 'examples', 'inetboot.yaml'));
    expect(loaded.config.entries).toHaveLength(1);
    expect(loaded.text).toContain('entries:');
  });
});
