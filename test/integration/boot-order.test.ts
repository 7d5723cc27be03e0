/**
 * The boot order publish hands mksquashfs (src/pipeline/publish/order.ts): which paths get which
 * priority, and that the real mksquashfs reads every line, names with spaces, "#" and
 * backslashes included ("Cannot stat sortlist entry" is its complaint about a line it could not
 * resolve), and writes the high-priority files first and the rest in its own order.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { bootOrder, sortFilePath } from '../../src/pipeline/publish/order.js';
import { testTempDir } from '../helpers/temp.js';

function tree(): string {
  const root = testTempDir('inetboot-order-');
  const files: Record<string, string> = {
    'etc/fstab': 'x',
    'usr/bin/ls': 'ls',
    'usr/sbin/ip': 'ip',
    'usr/lib/systemd/systemd': 'systemd',
    'usr/lib/udev/hwdb.bin': 'hwdb',
    'usr/lib/x86_64-linux-gnu/libc.so.6': 'libc',
    'usr/lib/x86_64-linux-gnu/libz.so.1.2.13': 'libz',
    'usr/lib/x86_64-linux-gnu/libz.a': 'static',
    'usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so': 'shared',
    'usr/lib/x86_64-linux-gnu/odd name #1\\.so': 'odd',
    'usr/lib/modules/6.1.0-1-amd64/modules.dep': 'dep',
    'usr/lib/modules/6.1.0-1-amd64/kernel/fs/x.ko': 'ko',
    'usr/share/doc/README': 'doc',
    'var/lib/apt/lists/big': 'apt',
  };
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), body);
  }
  // Debian 12's merged /usr: /lib and /bin are symlinks, which must not be listed twice.
  for (const l of ['lib', 'bin', 'sbin']) symlinkSync(`usr/${l}`, join(root, l));
  return root;
}

describe('boot order', () => {
  it('lists what a boot reads first, each path once, and no path through a symlink', () => {
    expect(bootOrder(tree()).split('\n')).toEqual([
      'etc 32767',
      'usr/lib/systemd 32767',
      'usr/lib/udev 32767',
      'usr/lib/x86_64-linux-gnu/libc.so.6 32767',
      'usr/lib/x86_64-linux-gnu/libz.so.1.2.13 32767',
      'usr/lib/x86_64-linux-gnu/odd\\ name\\ \\#1\\\\.so 32767',
      'usr/lib/x86_64-linux-gnu/systemd 32767',
      'usr/lib/modules/6.1.0-1-amd64/modules.dep 32767',
      'usr/bin 32766',
      'usr/sbin 32766',
      // The rest, each its own priority in mksquashfs's order (one priority would reverse it).
      'usr/lib/modules/6.1.0-1-amd64/kernel/fs/x.ko 32765',
      'usr/lib/x86_64-linux-gnu/libz.a 32764',
      'usr/share/doc/README 32763',
      'var/lib/apt/lists/big 32762',
      '',
    ]);
  });

  it('escapes white space, "#" and backslashes, and refuses line breaks', () => {
    expect(sortFilePath('a b\tc#d\\e')).toBe('a\\ b\\\tc\\#d\\\\e');
    expect(sortFilePath('a\nb')).toBeUndefined();
    expect(sortFilePath('a\rb')).toBeUndefined();
  });

  it('mksquashfs resolves every line and puts the boot files before the rest', async () => {
    const root = tree();
    // Outside the tree that is packed.
    const sort = join(testTempDir('inetboot-order-out-'), 'root.sort');
    writeFileSync(sort, bootOrder(root));
    const img = `${sort}.sqfs`;
    const r = await execa('mksquashfs', [root, img, '-noappend', '-no-progress', '-noI', '-noD', '-noF', '-sort', sort], { all: true, reject: false });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).not.toContain('Cannot stat');
    // Uncompressed data (-noD): a file's bytes appear in the image in the order written.
    const image = (await import('node:fs')).readFileSync(img);
    const at = (s: string) => image.indexOf(Buffer.from(s));
    for (const hot of ['libc', 'shared', 'hwdb', 'dep']) {
      expect(at(hot), hot).toBeGreaterThan(0);
      expect(at(hot), hot).toBeLessThan(at('doc'));
      expect(at(hot), hot).toBeLessThan(at('apt'));
      expect(at(hot), hot).toBeLessThan(at('ls'));
    }
    expect(at('ls')).toBeLessThan(at('doc'));
    // The rest keeps mksquashfs's own order: a change late in the tree moves only what follows.
    expect(at('ko')).toBeLessThan(at('static'));
    expect(at('static')).toBeLessThan(at('doc'));
    expect(at('doc')).toBeLessThan(at('apt'));
  });
});
