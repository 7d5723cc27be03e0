/** The artifact sources of the config (url, urls, mirror + path, size) and the top-level mirrors: map. */
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { artifactUrls, configSchema, describeSources, joinMirror } from '../../src/config/schema.js';
import { entryDataFiles } from '../../src/pipeline/preboot/entries.js';
import { problems } from '../helpers/config.js';

const HEX = 'ab'.repeat(32);

/** A config with a mirrors: map and one entry whose kernel is written by the test (indented 4). */
function withKernel(kernel: string, mirrors = 'mirrors:\n  debian:\n    - http://10.0.2.2:8080/debian\n    - http://10.0.2.2:8081/debian/\n'): string {
  return `${mirrors}entries:
  - id: d
    title: D
    kernel:
${kernel}`;
}


describe('artifact sources: valid forms', () => {
  test('urls: keeps the order; size and sha256 are checks of every source', () => {
    const { config } = parseConfig(withKernel(`      urls:\n        - http://10.0.2.2:8080/linux\n        - https://10.0.2.2:8443/linux\n      sha256: "${HEX}"\n      size: 1234\n`), 'ib.yaml');
    const kernel = config.entries[0]!.kernel!;
    expect(kernel).toEqual({ urls: ['http://10.0.2.2:8080/linux', 'https://10.0.2.2:8443/linux'], sha256: HEX, size: 1234 });
    expect(artifactUrls(kernel, config.mirrors)).toEqual(['http://10.0.2.2:8080/linux', 'https://10.0.2.2:8443/linux']);
    expect(describeSources(kernel)).toBe('http://10.0.2.2:8080/linux (+1 more)');
  });

  test('mirror + path expands to each base URL of the group, one "/" between', () => {
    const { config } = parseConfig(withKernel('      mirror: debian\n      path: dists/stable/linux\n'), 'ib.yaml');
    const kernel = config.entries[0]!.kernel!;
    expect(kernel).toEqual({ mirror: 'debian', path: 'dists/stable/linux' });
    expect(artifactUrls(kernel, config.mirrors)).toEqual(['http://10.0.2.2:8080/debian/dists/stable/linux', 'http://10.0.2.2:8081/debian/dists/stable/linux']);
    expect(joinMirror('http://h/a//', 'b')).toBe('http://h/a/b');
  });

  test('the preboot data: NAME_urls one per line, NAME_url the first, NAME_size', () => {
    const config = configSchema.parse({
      mirrors: { m: ['http://10.0.2.2:1/a', 'http://10.0.2.2:2/b'] },
      entries: [{ id: 'x', title: 'X', kernel: { mirror: 'm', path: 'k', size: 9 }, initrd: { urls: ['http://10.0.2.2:3/i'], sha256: HEX } }],
    });
    const files = entryDataFiles(config);
    expect(files.get('etc/inetboot/entries/x/kernel_urls')).toBe('http://10.0.2.2:1/a/k\nhttp://10.0.2.2:2/b/k\n');
    expect(files.get('etc/inetboot/entries/x/kernel_url')).toBe('http://10.0.2.2:1/a/k');
    expect(files.get('etc/inetboot/entries/x/kernel_size')).toBe('9');
    expect(files.has('etc/inetboot/entries/x/kernel_sha256')).toBe(false);
    expect(files.get('etc/inetboot/entries/x/initrd_urls')).toBe('http://10.0.2.2:3/i\n');
    expect(files.get('etc/inetboot/entries/x/initrd_sha256')).toBe(HEX);
  });

  test('a group that is not defined never reaches the preboot as an empty list', () => {
    const config = configSchema.parse({ entries: [{ id: 'x', title: 'X', kernel: { mirror: 'nope', path: 'k' } }] });
    expect(artifactUrls(config.entries[0]!.kernel!, config.mirrors)).toEqual([]);
    expect(() => entryDataFiles(config)).toThrow('internal: entry x: kernel names mirror group "nope", which is not under mirrors:');
  });
});

describe('artifact sources: messages', () => {
  test('two source forms at once', () => {
    expect(problems(withKernel('      url: http://10.0.2.2:8080/linux\n      urls: [http://10.0.2.2:8081/linux]\n'))).toEqual([
      'ib.yaml:8: entries[0].kernel: has url and urls: write only one of url, urls, or mirror with path (put every URL under urls:)',
    ]);
  });

  test('no source at all', () => {
    expect(problems(withKernel(`      sha256: "${HEX}"\n`))).toEqual([
      'ib.yaml:8: entries[0].kernel: names no source: write url: URL, urls: [URL, ...], or mirror: GROUP with path: PATH',
    ]);
  });

  test('mirror without path, path without mirror', () => {
    expect(problems(withKernel('      mirror: debian\n'))).toEqual([
      'ib.yaml:8: entries[0].kernel.path: is missing: mirror: needs the path of the file inside group "debian", e.g. path: dists/stable/linux',
    ]);
    expect(problems(withKernel('      path: linux\n'))).toEqual(['ib.yaml:8: entries[0].kernel.mirror: is missing: path: needs the name of a group under mirrors:, e.g. mirror: debian']);
  });

  test('urls: empty, repeated, too many, not a list', () => {
    expect(problems(withKernel('      urls: []\n'))).toEqual(['ib.yaml:9: entries[0].kernel.urls: must list at least one URL']);
    expect(problems(withKernel('      urls:\n        - http://10.0.2.2:8080/linux\n        - http://10.0.2.2:8080/linux\n'))).toEqual([
      'ib.yaml:11: entries[0].kernel.urls[1]: repeats http://10.0.2.2:8080/linux (urls[0]): list each URL once',
    ]);
    const many = Array.from({ length: 17 }, (_, i) => `        - http://10.0.2.2:${8000 + i}/linux\n`).join('');
    expect(problems(withKernel(`      urls:\n${many}`))).toEqual(['ib.yaml:9: entries[0].kernel.urls: lists more than 16 URLs: keep the 16 best']);
    expect(problems(withKernel('      urls: http://10.0.2.2:8080/linux\n'))).toEqual([
      'ib.yaml:9: entries[0].kernel.urls: is a string: must be a list of URLs, each on its own "- " line',
    ]);
  });

  test('a bad URL inside urls: names its index', () => {
    expect(problems(withKernel('      urls:\n        - http://10.0.2.2:8080/linux\n        - ftp://10.0.2.2/linux\n'))).toEqual([
      'ib.yaml:11: entries[0].kernel.urls[1]: scheme "ftp" is not supported: write an http:// or https:// URL',
    ]);
  });

  test('path: leading "/", "..", "#", spaces', () => {
    const msg = (path: string) => problems(withKernel(`      mirror: debian\n      path: "${path}"\n`));
    expect(msg('/dists/linux')).toEqual([
      'ib.yaml:10: entries[0].kernel.path: must not start with "/": it is relative to each base URL of the group (write dists/..., not /dists/...)',
    ]);
    expect(msg('dists/../linux')).toEqual(['ib.yaml:10: entries[0].kernel.path: must not contain ".." segments: write the path inside the group']);
    expect(msg('linux#x')).toEqual(['ib.yaml:10: entries[0].kernel.path: must not contain "#": BusyBox wget would send the fragment to the server as part of the path; write path: linux']);
    expect(msg('my linux')).toEqual(['ib.yaml:10: entries[0].kernel.path: must not contain spaces or control characters: percent-encode them (a space is %20)']);
  });

  test('size: not a whole positive number', () => {
    expect(problems(withKernel('      url: http://10.0.2.2:8080/linux\n      size: 0\n'))).toEqual(['ib.yaml:10: entries[0].kernel.size: must be more than 0 bytes']);
    expect(problems(withKernel('      url: http://10.0.2.2:8080/linux\n      size: 1.5\n'))).toEqual(['ib.yaml:10: entries[0].kernel.size: must be a whole number of bytes']);
    expect(problems(withKernel('      url: http://10.0.2.2:8080/linux\n      size: 8 MB\n'))).toEqual([
      "ib.yaml:10: entries[0].kernel.size: is a string: must be the file's size in bytes, a whole number, e.g. size: 8123456",
    ]);
  });

  test('unknown key in an artifact lists every allowed key', () => {
    expect(problems(withKernel('      url: http://10.0.2.2:8080/linux\n      mirrors: debian\n'))).toEqual([
      'ib.yaml:10: entries[0].kernel.mirrors: unknown key "mirrors": allowed keys are url, urls, mirror, path, sha256, size (did you mean "mirror"?)',
    ]);
  });
});

describe('mirrors: map messages', () => {
  const kernel = '      url: http://10.0.2.2:8080/linux\n';

  test('unknown group (rules), with and without a mirrors: map', () => {
    expect(problems(withKernel('      mirror: debain\n      path: linux\n'))).toEqual([
      'ib.yaml:9: entries[0].kernel.mirror: no mirror group "debain": write one of debian, or add "debain:" under mirrors:',
    ]);
    expect(problems(withKernel('      mirror: debian\n      path: linux\n', ''))).toEqual([
      'ib.yaml:5: entries[0].kernel.mirror: no mirror group "debian", because the config has no mirrors: add "mirrors:" with "debian:" and a list of base URLs, or write urls: [URL, ...]',
    ]);
  });

  test('a group: empty, not a list, a repeated base URL, a base URL with a query', () => {
    expect(problems(withKernel(kernel, 'mirrors:\n  debian: []\n'))).toEqual(['ib.yaml:2: mirrors.debian: must list at least one base URL']);
    expect(problems(withKernel(kernel, 'mirrors:\n  debian: http://10.0.2.2:8080/debian\n'))).toEqual([
      'ib.yaml:2: mirrors.debian: is a string: must be a list of base URLs, each on its own "- " line, e.g. - http://10.0.2.2:8080/debian',
    ]);
    expect(problems(withKernel(kernel, 'mirrors:\n  debian:\n    - http://10.0.2.2:8080/debian\n    - http://10.0.2.2:8080/debian/\n'))).toEqual([
      'ib.yaml:4: mirrors.debian[1]: repeats http://10.0.2.2:8080/debian ([0]): list each base URL once',
    ]);
    expect(problems(withKernel(kernel, 'mirrors:\n  debian:\n    - http://10.0.2.2:8080/debian?x=1\n'))).toEqual([
      'ib.yaml:3: mirrors.debian[0]: must not contain "?" or "#": a base URL is followed by "/" and the path',
    ]);
  });

  test('a bad group name, and mirrors: that is not a mapping', () => {
    expect(problems(withKernel(kernel, 'mirrors:\n  Debian:\n    - http://10.0.2.2:8080/debian\n'))).toEqual([
      'ib.yaml:2: mirrors.Debian: must match [a-z0-9][a-z0-9._-]*: lower-case letters, digits, ".", "_" and "-", starting with a letter or digit',
    ]);
    expect(problems(withKernel(kernel, 'mirrors:\n  - http://10.0.2.2:8080/debian\n'))).toEqual([
      'ib.yaml:1: mirrors: is a list: must be a mapping of group names to lists of base URLs, e.g. mirrors: {debian: [http://10.0.2.2:8080/debian]}',
    ]);
  });
});
