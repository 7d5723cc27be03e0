import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readNewc } from '../../src/pipeline/cpio.js';
import { ROOT_HANDOVER_KEYS, withRootHandover } from '../helpers/root-handover.js';

const rootSh = readFileSync('buildroot-overlay/board/inetboot/rootfs_overlay/lib/inetboot/root.sh', 'utf8');
const init = readFileSync('miniroot/init', 'utf8');

const sorted = (s: Iterable<string>) => [...new Set(s)].sort();

describe("the root's handover archive", () => {
  it('has the keys root.sh root_initrd writes', () => {
    const body = rootSh.slice(rootSh.indexOf('root_initrd() {'), rootSh.indexOf('\n}\n', rootSh.indexOf('root_initrd() {')));
    const written = [...body.matchAll(/"\$data\/([a-z0-9_]+)"/g)].map((m) => m[1]!);
    expect(written.length).toBeGreaterThan(4);
    expect(sorted(written)).toEqual(sorted(ROOT_HANDOVER_KEYS));
  });

  it('has the keys miniroot/init reads, and no others', () => {
    const read = [...init.matchAll(/root_data ([a-z0-9_]+)/g), ...init.matchAll(/\$IB_ROOT_DATA\/([a-z0-9_]+)/g)].map((m) => m[1]!);
    expect(sorted(read)).toEqual(sorted(ROOT_HANDOVER_KEYS));
  });

  it('starts the archive on a 4-byte boundary after the miniroot, one value per line', () => {
    const mini = Buffer.from('12345');
    const out = withRootHandover(mini, { sources: ['http://a/', 'http://b/'], index_sha256: 'ab', index_size: 7, mac: 'm', address: '10.0.2.15/24' });
    expect(out.subarray(0, 5).toString()).toBe('12345');
    expect([...out.subarray(5, 8)]).toEqual([0, 0, 0]);
    const files = Object.fromEntries(readNewc(out.subarray(8)).filter((e) => e.type === 'file').map((e) => [e.path, e.data.toString()]));
    expect(files).toEqual({
      'etc/inetboot/root/sources': 'http://a/\nhttp://b/\n',
      'etc/inetboot/root/index_sha256': 'ab\n',
      'etc/inetboot/root/index_size': '7\n',
      'etc/inetboot/root/mac': 'm\n',
      'etc/inetboot/root/address': '10.0.2.15/24\n',
    });
  });
});
