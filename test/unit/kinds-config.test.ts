/** Entry kinds in the config (kernel, xen, iscript, root, shell): exact messages and the baked entry data. */
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { entryKind } from '../../src/config/schema.js';
import { entryDataFiles } from '../../src/pipeline/preboot/entries.js';
import { formatTable } from '../../src/commands/list.js';
import { renderMenu } from '../../src/pipeline/menu.js';
import { problems } from '../helpers/config.js';

const HEX = 'ab'.repeat(32);

/** One entry whose keys after id and title are written by the test (indented 4). */
function withKeys(keys: string): string {
  return `entries:\n  - id: e\n    title: E\n${keys}`;
}


describe('entry kinds: valid entries', () => {
  test('xen: hypervisor and hypervisor_append beside kernel/initrd/append, baked into data files', () => {
    const { config } = parseConfig(
      withKeys(`    hypervisor: {url: http://10.0.2.2:8080/xen.gz, sha256: "${HEX}"}
    hypervisor_append: console=com1 com1=115200 dom0_mem=256M
    kernel: http://10.0.2.2:8080/vmlinuz
    initrd: http://10.0.2.2:8080/initrd
    append: console=hvc0
`),
      'ib.yaml',
    );
    const e = config.entries[0]!;
    expect(entryKind(e)).toBe('xen');
    const files = entryDataFiles(config);
    expect(files.get('etc/inetboot/entries/e/kind')).toBe('xen');
    expect(files.get('etc/inetboot/entries/e/hypervisor_urls')).toBe('http://10.0.2.2:8080/xen.gz\n');
    expect(files.get('etc/inetboot/entries/e/hypervisor_url')).toBe('http://10.0.2.2:8080/xen.gz');
    expect(files.get('etc/inetboot/entries/e/hypervisor_sha256')).toBe(HEX);
    expect(files.get('etc/inetboot/entries/e/hypervisor_append')).toBe('console=com1 com1=115200 dom0_mem=256M');
    expect(files.get('etc/inetboot/entries/e/append')).toBe('console=hvc0');
  });

  test('iscript: a URL or {url, sha256}; append is handed to the script', () => {
    const { config } = parseConfig(withKeys(`    iscript:\n      url: http://10.0.2.2:8080/boot.sh\n      sha256: "${HEX}"\n    append: console=ttyS0\n`), 'ib.yaml');
    expect(entryKind(config.entries[0]!)).toBe('iscript');
    const files = entryDataFiles(config);
    expect(files.get('etc/inetboot/entries/e/kind')).toBe('iscript');
    expect(files.get('etc/inetboot/entries/e/iscript_urls')).toBe('http://10.0.2.2:8080/boot.sh\n');
    expect(files.get('etc/inetboot/entries/e/iscript_sha256')).toBe(HEX);
    expect(files.get('etc/inetboot/entries/e/append')).toBe('console=ttyS0');
    expect(files.has('etc/inetboot/entries/e/kernel_url')).toBe(false);
  });

  test('root: the manifest URL and its sha256 (or root_unverified: true), append for the root\'s kernel', () => {
    const { config } = parseConfig(withKeys(`    root: {url: http://10.0.2.2:8080/debian12/root.json, sha256: "${HEX}"}\n    append: console=ttyS0\n`), 'ib.yaml');
    expect(entryKind(config.entries[0]!)).toBe('root');
    const files = entryDataFiles(config);
    expect(files.get('etc/inetboot/entries/e/kind')).toBe('root');
    expect(files.get('etc/inetboot/entries/e/root_urls')).toBe('http://10.0.2.2:8080/debian12/root.json\n');
    expect(files.get('etc/inetboot/entries/e/root_sha256')).toBe(HEX);
    expect(files.get('etc/inetboot/entries/e/append')).toBe('console=ttyS0');
    const loose = parseConfig(withKeys('    root: http://10.0.2.2:8080/debian12/root.json\n    root_unverified: true\n'), 'ib.yaml').config;
    expect(entryDataFiles(loose).has('etc/inetboot/entries/e/root_sha256')).toBe(false);
    const mirrored = parseConfig('mirrors:\n  m: [http://10.0.2.2:8080/a, http://10.0.2.2:8081/b]\nentries:\n  - id: e\n    title: E\n    root: {mirror: m, path: d12/root.json, sha256: "' + HEX + '"}\n', 'ib.yaml').config;
    expect(entryDataFiles(mirrored).get('etc/inetboot/entries/e/root_urls')).toBe('http://10.0.2.2:8080/a/d12/root.json\nhttp://10.0.2.2:8081/b/d12/root.json\n');
  });

  test('shell: true; entries.list keeps the config order for the rescue menu', () => {
    const { config } = parseConfig('entries:\n  - id: z\n    title: Z\n    shell: true\n  - id: a\n    title: A\n    kernel: http://10.0.2.2:8080/vmlinuz\n', 'ib.yaml');
    expect(config.entries.map(entryKind)).toEqual(['shell', 'kernel']);
    const files = entryDataFiles(config);
    expect(files.get('etc/inetboot/entries/z/kind')).toBe('shell');
    expect(files.get('etc/inetboot/entries/a/kind')).toBe('kernel');
    expect(files.get('etc/inetboot/entries.list')).toBe('z\na\n');
  });

  test('iscript and hypervisor take every source form (mirror groups too)', () => {
    const { config } = parseConfig(
      'mirrors:\n  m:\n    - http://10.0.2.2:8080/a\n    - http://10.0.2.2:8081/b\nentries:\n  - id: e\n    title: E\n    iscript: {mirror: m, path: boot.sh}\n',
      'ib.yaml',
    );
    expect(entryDataFiles(config).get('etc/inetboot/entries/e/iscript_urls')).toBe('http://10.0.2.2:8080/a/boot.sh\nhttp://10.0.2.2:8081/b/boot.sh\n');
  });
});

describe('entry kinds elsewhere', () => {
  const text = `entries:
  - id: xen
    title: Under Xen
    hypervisor: http://10.0.2.2:8080/xen.gz
    kernel: http://10.0.2.2:8080/vmlinuz
  - id: s
    title: Scripted
    iscript: {url: http://10.0.2.2:8080/boot.sh, sha256: "${HEX}"}
  - id: shell
    title: BuildRoot Shell
    shell: true
  - id: d12
    title: Debian 12
    root: {url: http://10.0.2.2:8080/d12/root.json, sha256: "${HEX}"}
  - id: loose
    title: Unpinned
    root: http://10.0.2.2:8080/d12/root.json
    root_unverified: true
`;

  test('inetboot list says what each entry boots', () => {
    expect(formatTable(parseConfig(text, 'ib.yaml').config, 'ib.yaml')).toBe(
      [
        '   ID     TITLE            KERNEL',
        '*  xen    Under Xen        http://10.0.2.2:8080/vmlinuz under Xen',
        '   s      Scripted         iscript http://10.0.2.2:8080/boot.sh (sha256)',
        '   shell  BuildRoot Shell  shell in the preboot',
        '   d12    Debian 12        root http://10.0.2.2:8080/d12/root.json (sha256)',
        '   loose  Unpinned         root http://10.0.2.2:8080/d12/root.json (UNVERIFIED)',
        '',
        '* default, boots after 5 s',
        '',
      ].join('\n'),
    );
  });

  test('the GRUB menu is the same for every kind: ib.entry=ID only', () => {
    const cfg = renderMenu(parseConfig(text, 'ib.yaml').config);
    expect(cfg).toContain("menuentry 'BuildRoot Shell' --id shell {");
    expect(cfg).toContain('\t$inetboot_linux /boot/inetboot/vmlinuz ib.entry=shell console=tty0 console=ttyS0,115200n8 quiet');
    expect(cfg).not.toContain('iscript');
  });
});

describe('entry kinds: rejected, with exact messages', () => {
  test('nothing to boot', () => {
    expect(problems(withKeys('    append: quiet\n'))).toEqual([
      'ib.yaml:2: entries[0]: boots nothing: write kernel: URL (a Linux kernel; add hypervisor: URL to start it under Xen), iscript: URL (a script the preboot runs), root: {url: URL/root.json, sha256: HEX} (a root published with inetboot publish), or shell: true (a shell in the preboot)',
    ]);
  });

  test('two kinds in one entry', () => {
    expect(problems(withKeys('    kernel: http://10.0.2.2:8080/vmlinuz\n    iscript: http://10.0.2.2:8080/boot.sh\n    shell: true\n'))).toEqual([
      'ib.yaml:5: entries[0].iscript: cannot be combined with kernel: an entry boots one of kernel, iscript, root or shell; make two entries',
      'ib.yaml:6: entries[0].shell: cannot be combined with kernel: an entry boots one of kernel, iscript, root or shell; make two entries',
    ]);
    expect(problems(withKeys('    iscript: http://10.0.2.2:8080/boot.sh\n    shell: true\n'))).toEqual([
      'ib.yaml:5: entries[0].shell: cannot be combined with iscript: an entry boots one of kernel, iscript, root or shell; make two entries',
    ]);
  });

  test('keys that need kernel:', () => {
    expect(problems(withKeys('    iscript: http://10.0.2.2:8080/boot.sh\n    initrd: http://10.0.2.2:8080/initrd\n'))).toEqual([
      'ib.yaml:5: entries[0].initrd: needs kernel: in the same entry (an iscript downloads its own files with ib_fetch)',
    ]);
    expect(problems(withKeys('    iscript: http://10.0.2.2:8080/boot.sh\n    hypervisor: http://10.0.2.2:8080/xen.gz\n'))).toEqual([
      'ib.yaml:5: entries[0].hypervisor: needs kernel: (the dom0 kernel) in the same entry (an iscript starts Xen with ib_boot_xen)',
    ]);
  });

  test('root: pinned unless the entry says root_unverified: true; no kernel, initrd or tls_verify: false beside it', () => {
    const R = '    root: http://10.0.2.2:8080/d12/root.json\n';
    expect(problems(withKeys(R))).toEqual([
      'ib.yaml:4: entries[0].root: has no sha256: pin the manifest with sha256: HEX (inetboot publish prints it), or write root_unverified: true beside root: to boot it unchecked (the preboot then warns at every boot)',
    ]);
    expect(problems(withKeys(`    root: {url: http://10.0.2.2:8080/d12/root.json, sha256: "${HEX}"}\n    root_unverified: true\n`))).toEqual([
      'ib.yaml:5: entries[0].root_unverified: contradicts root.sha256: the manifest is pinned; remove root_unverified',
    ]);
    expect(problems(withKeys('    kernel: http://10.0.2.2:8080/vmlinuz\n    root_unverified: true\n'))).toEqual(['ib.yaml:5: entries[0].root_unverified: needs root: in the same entry']);
    expect(problems(withKeys(`${R}    root_unverified: yes\n`))).toEqual(['ib.yaml:5: entries[0].root_unverified: must be true (boot the root without checking its manifest), or leave the key out']);
    expect(problems(withKeys(`    kernel: http://10.0.2.2:8080/vmlinuz\n${R}    root_unverified: true\n`))).toEqual([
      'ib.yaml:5: entries[0].root: cannot be combined with kernel: an entry boots one of kernel, iscript, root or shell; make two entries',
    ]);
    expect(problems(withKeys(`${R}    root_unverified: true\n    initrd: http://10.0.2.2:8080/initrd\n`))).toEqual([
      'ib.yaml:6: entries[0].initrd: cannot be combined with root: the published root brings its own kernel and miniroot',
    ]);
    expect(problems(withKeys(`    root: {url: https://10.0.2.2:8443/d12/root.json, sha256: "${HEX}"}\n    tls_verify: false\n`))).toEqual([
      "ib.yaml:5: entries[0].tls_verify: cannot be false for a root: the miniroot's block daemon always checks certificates; remove it, or serve the root over http:// (every block is checked by its sha256 either way)",
    ]);
  });

  test('hypervisor_append without hypervisor', () => {
    expect(problems(withKeys('    kernel: http://10.0.2.2:8080/vmlinuz\n    hypervisor_append: dom0_mem=256M\n'))).toEqual([
      "ib.yaml:5: entries[0].hypervisor_append: needs hypervisor: in the same entry (it is Xen's command line)",
    ]);
  });

  test('append on a shell entry', () => {
    expect(problems(withKeys('    shell: true\n    append: quiet\n'))).toEqual([
      'ib.yaml:5: entries[0].append: is only for an entry with kernel: or iscript:; a shell entry boots nothing',
    ]);
  });

  test('shell: must be true', () => {
    expect(problems(withKeys('    shell: yes\n'))).toEqual(['ib.yaml:4: entries[0].shell: must be true (a shell entry), or leave the key out']);
    expect(problems(withKeys('    shell: false\n'))).toEqual(['ib.yaml:4: entries[0].shell: must be true (a shell entry), or leave the key out']);
  });

  test('hypervisor_append is checked like append', () => {
    expect(problems(withKeys(`    kernel: http://10.0.2.2:8080/vmlinuz\n    hypervisor: http://10.0.2.2:8080/xen.gz\n    hypervisor_append: 'dom0_mem="256M'\n`))).toEqual([
      'ib.yaml:6: entries[0].hypervisor_append: has an unbalanced double quote: the kernel groups words only between pairs of "',
    ]);
  });

  test('an iscript naming a mirror group that does not exist', () => {
    expect(problems('mirrors:\n  m: [http://10.0.2.2:8080/a]\nentries:\n  - id: e\n    title: E\n    iscript: {mirror: n, path: boot.sh}\n')).toEqual([
      'ib.yaml:6: entries[0].iscript.mirror: no mirror group "n": write one of m, or add "n:" under mirrors:',
    ]);
  });
});
