/**
 * build-iso --cache-partition without external tools: the size it takes, what it refuses
 * before any work, and the QEMU arguments that boot such an image as the only disk, a USB stick.
 * The image itself: test/integration/cache-partition.test.ts; its boots: test/boot/cache-stick.test.ts.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseCachePartitionSize } from '../../src/pipeline/cache-partition.js';
import { qemuArgs } from '../../src/qemu/boot.js';
import { cli } from '../helpers/cli.js';
import { testTempDir } from '../helpers/temp.js';

const MIB = 1024 * 1024;

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('no UsageError');
}

describe('build-iso --cache-partition SIZE', () => {
  test.each([
    ['1G', 1024 * MIB],
    ['64M', 64 * MIB],
    ['2M', 2 * MIB],
    ['4096K', 4 * MIB],
    ['2T', 2 * 1024 * 1024 * MIB],
    ['3145728', 3 * MIB],
  ])('%s', (text, bytes) => expect(parseCachePartitionSize(text)).toBe(bytes));

  test.each([
    ['1M', '--cache-partition 1M: at least 2M'],
    ['3T', '--cache-partition 3T: at most 2T'],
    ['1.5G', '--cache-partition 1.5G: write a size such as 64M, 1G or 1073741824 (bytes)'],
    ['2500K', '--cache-partition 2500K: must be a whole number of MiB (the partition is aligned to 1 MiB)'],
    ['3145729', '--cache-partition 3145729: must be a whole number of KiB'],
  ])('%s is refused', (text, message) => expect(usageError(() => parseCachePartitionSize(text))).toBe(message));

  test('a bad size is refused before the config is read or anything is written', async () => {
    const dir = testTempDir('inetboot-stick-');
    const r = await cli('build-iso', '-c', join(dir, 'missing.yaml'), '--cache-partition', '1M', '-o', join(dir, 'stick.img'));
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'inetboot: error: --cache-partition 1M: at least 2M\n' });
    expect(readdirSync(dir)).toEqual([]);
  });

  test('an output directory is refused, naming inetboot-stick.img as the file to write', async () => {
    const dir = testTempDir('inetboot-stick-');
    const r = await cli('build-iso', '-c', join(dir, 'missing.yaml'), '--cache-partition', '8M', '-o', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`inetboot: error: -o ${dir} is a directory: name the file to write, e.g. ${join(dir, 'inetboot-stick.img')}\n`);
    expect(existsSync(join(dir, 'inetboot-stick.img'))).toBe(false);
  });
});

describe('QEMU arguments of a USB stick boot', () => {
  test('the image is the only disk: usb-storage on xHCI, first in the boot order; no CD', () => {
    const args = qemuArgs({ usbStick: '/tmp/a,b.img', memoryMiB: 512 });
    expect(args.join(' ')).toContain('-device qemu-xhci,id=xhci-inetboot-stick -drive if=none,id=inetboot-stick,format=raw,file=/tmp/a,,b.img -device usb-storage,bus=xhci-inetboot-stick.0,drive=inetboot-stick,bootindex=0');
    expect(args.filter((a) => /(^|,)file=/.test(a))).toEqual(['if=none,id=inetboot-stick,format=raw,file=/tmp/a,,b.img']);
    expect(args).not.toContain('-boot');
    expect(args).not.toContain('-snapshot');
  });

  test('snapshot: the writes of the boot are discarded (smoke --usb)', () => {
    expect(qemuArgs({ usbStick: '/tmp/s.img', snapshot: true, memoryMiB: 512 })).toContain('-snapshot');
  });
});
