import { describe, expect, it } from 'vitest';
import { FIXED_MTIME, readNewc, writeNewc } from '../../src/pipeline/cpio.js';
import { Manifest } from '../../src/pipeline/manifest.js';
import { moduleClosure } from '../../src/pipeline/preboot/modules.js';
import { entryDataFiles } from '../../src/pipeline/preboot/entries.js';
import { configSchema } from '../../src/config/schema.js';

describe('cpio newc writer', () => {
  it('reads back what it wrote, sorted, with types, modes and device numbers', () => {
    const buf = writeNewc([
      { type: 'file', path: 'b/file.txt', mode: 0o644, data: Buffer.from('hello\n') },
      { type: 'dir', path: 'b', mode: 0o755 },
      { type: 'symlink', path: 'a-link', target: '/bin/busybox' },
      { type: 'chardev', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
    ]);
    expect(buf.length % 512).toBe(0);
    const back = readNewc(buf);
    expect(back.map((e) => [e.path, e.type, e.mode.toString(8)])).toEqual([
      ['a-link', 'symlink', '777'],
      ['b', 'dir', '755'],
      ['b/file.txt', 'file', '644'],
      ['dev/console', 'chardev', '600'],
    ]);
    expect(back[0]!.data.toString()).toBe('/bin/busybox');
    expect(back[2]!.data.toString()).toBe('hello\n');
    expect([back[3]!.rdevmajor, back[3]!.rdevminor]).toEqual([5, 1]);
  });

  it('is deterministic: fixed mtime and owners, input order does not matter', () => {
    const a = writeNewc([
      { type: 'file', path: 'x', mode: 0o755, data: Buffer.from('1') },
      { type: 'file', path: 'y', mode: 0o644, data: Buffer.from('22') },
    ]);
    const b = writeNewc([
      { type: 'file', path: 'y', mode: 0o644, data: Buffer.from('22') },
      { type: 'file', path: 'x', mode: 0o755, data: Buffer.from('1') },
    ]);
    expect(a.equals(b)).toBe(true);
    // mtime is the 7th header field (offset 6 + 5*8).
    expect(parseInt(a.toString('ascii', 46, 54), 16)).toBe(FIXED_MTIME);
  });

  it('rejects paths that would escape the archive root', () => {
    expect(() => writeNewc([{ type: 'dir', path: '../etc', mode: 0o755 }])).toThrow(/invalid path/);
    expect(() => writeNewc([{ type: 'dir', path: 'a/./b', mode: 0o755 }])).toThrow(/invalid path/);
  });
});

describe('initramfs manifest', () => {
  it('implies parent directories', () => {
    const m = new Manifest().addFile('etc/inetboot/entries/x/title', 'T');
    expect(m.paths()).toEqual(['etc', 'etc/inetboot', 'etc/inetboot/entries', 'etc/inetboot/entries/x', 'etc/inetboot/entries/x/title']);
  });
  it('accepts the same thing twice but rejects a conflicting duplicate', () => {
    const m = new Manifest().addFile('init', 'a').addFile('init', 'a');
    expect(() => m.addFile('init', 'b')).toThrow('two different things want init (file and file)');
    expect(() => m.addSymlink('init', '/bin/sh')).toThrow('two different things want init (file and symlink)');
  });
});

describe('module closure', () => {
  const dep = [
    'kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko',
    'kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko',
    'kernel/net/core/failover.ko:',
    'kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko',
    'kernel/drivers/virtio/virtio_pci_modern_dev.ko:',
    'kernel/drivers/net/ethernet/8390/ne2k-pci.ko: kernel/drivers/net/ethernet/8390/8390.ko',
    'kernel/drivers/net/ethernet/8390/8390.ko:',
  ].join('\n');
  it('follows dependencies, treats - and _ alike, and reports builtin and missing modules', () => {
    const r = moduleClosure(dep, 'kernel/net/packet/af_packet.ko\n', ['virtio_net', 'ne2k_pci', 'af_packet', 'nosuch']);
    expect(r.files).toEqual([
      'kernel/drivers/net/ethernet/8390/8390.ko',
      'kernel/drivers/net/ethernet/8390/ne2k-pci.ko',
      'kernel/drivers/net/net_failover.ko',
      'kernel/drivers/net/virtio_net.ko',
      'kernel/net/core/failover.ko',
    ]);
    expect(r.builtin).toEqual(['af_packet']);
    expect(r.missing).toEqual(['nosuch']);
  });
});

describe('entry data files', () => {
  it('writes one file per field, absent fields absent, the append always present', () => {
    const config = configSchema.parse({
      default: 'b',
      entries: [
        { id: 'a', title: 'A', kernel: 'http://h/k' },
        { id: 'b', title: "B's", kernel: { url: 'http://h/k2', sha256: 'A'.repeat(64) }, initrd: 'https://h/i', append: 'x="1 2"' },
      ],
    });
    expect(Object.fromEntries(entryDataFiles(config))).toEqual({
      'etc/inetboot/entries/a/title': 'A',
      'etc/inetboot/entries/a/kind': 'kernel',
      'etc/inetboot/entries/a/kernel_url': 'http://h/k',
      'etc/inetboot/entries/a/kernel_urls': 'http://h/k\n',
      'etc/inetboot/entries/a/append': '',
      'etc/inetboot/entries/b/title': "B's",
      'etc/inetboot/entries/b/kind': 'kernel',
      'etc/inetboot/entries/b/kernel_url': 'http://h/k2',
      'etc/inetboot/entries/b/kernel_urls': 'http://h/k2\n',
      'etc/inetboot/entries/b/kernel_sha256': 'a'.repeat(64),
      'etc/inetboot/entries/b/initrd_url': 'https://h/i',
      'etc/inetboot/entries/b/initrd_urls': 'https://h/i\n',
      'etc/inetboot/entries/b/append': 'x="1 2"',
      'etc/inetboot/entries.list': 'a\nb\n',
      'etc/inetboot/default': 'b',
    });
  });
});
