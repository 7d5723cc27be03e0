/**
 * `inetboot make-cache-disk` with the real mkfs.vfat/mtools and mkfs.ext4/debugfs: the image is
 * one file system labelled INETBOOT holding an empty inetboot-cache/ folder, read back without
 * mounting.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { run } from '../../src/exec/run.js';
import { PASS_ON_CODE } from '../../src/pipeline/cache-disk.js';
import { cli } from '../helpers/cli.js';
import { outputDir } from '../helpers/paths.js';

const dir = outputDir('make-cache-disk');

describe('inetboot make-cache-disk', () => {
  test('vfat (the default): label INETBOOT, an empty inetboot-cache/ folder, the size asked for', async () => {
    const img = join(dir, 'vfat.img');
    rmSync(img, { force: true });
    const r = await cli('make-cache-disk', img, '--size', '16M');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${img}\n`);
    expect(statSync(img).size).toBe(16 * 1024 * 1024);
    const { stdout } = await run('mdir', ['-i', img, '::/']);
    expect(stdout).toMatch(/Volume in drive : is INETBOOT/);
    expect(stdout).toMatch(/<DIR>.*inetboot-cache/);
    expect((await run('mdir', ['-b', '-i', img, '::/inetboot-cache'])).stdout.trim()).toBe('');
  });

  test('vfat: the boot code hands the boot on to the next device (int 0x18), and fsck.fat finds nothing wrong', async () => {
    for (const size of ['16M', '600M']) {
      // 16M: FAT16, 600M: FAT32 (the boot code starts at another offset).
      const img = join(dir, `boot-code-${size}.img`);
      rmSync(img, { force: true });
      expect((await cli('make-cache-disk', img, '--size', size)).code).toBe(0);
      const sector = readFileSync(img).subarray(0, 512);
      expect(sector[0]).toBe(0xeb);
      const at = 2 + sector[1]!;
      expect(at).toBe(size === '16M' ? 0x3e : 0x5a);
      expect([...sector.subarray(at, at + PASS_ON_CODE.length)]).toEqual([...PASS_ON_CODE]);
      expect([sector[510], sector[511]]).toEqual([0x55, 0xaa]);
      const fsck = await run('fsck.fat', ['-n', img], { okExitCodes: [0, 1] });
      expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
      rmSync(img, { force: true });
    }
  });

  test('ext4: label INETBOOT and an inetboot-cache/ folder owned by root', async () => {
    const img = join(dir, 'ext4.img');
    rmSync(img, { force: true });
    const r = await cli('make-cache-disk', img, '--size', '8M', '--fs', 'ext4');
    expect(r.code, r.stderr).toBe(0);
    expect((await run('dumpe2fs', ['-h', img])).stdout).toMatch(/Filesystem volume name:\s+INETBOOT/);
    expect((await run('debugfs', ['-R', 'stat /inetboot-cache', img])).stdout).toMatch(/Type: directory\s+Mode:\s+0755[\s\S]*User:\s+0\s+Group:\s+0/);
  });

  test('refuses to replace an existing file without --force, and a bad --fs or --size is a usage error', async () => {
    const img = join(dir, 'exists.img');
    writeFileSync(img, 'precious');
    const r = await cli('make-cache-disk', img, '--size', '8M');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`inetboot: error: ${img} exists: remove it, or pass --force to replace it`);
    expect((await cli('make-cache-disk', img, '--size', '8M', '--force')).code).toBe(0);
    expect(statSync(img).size).toBe(8 * 1024 * 1024);
    const fs = await cli('make-cache-disk', join(dir, 'x.img'), '--size', '8M', '--fs', 'ntfs');
    expect(fs.code).toBe(2);
    expect(fs.stderr).toContain('inetboot: error: --fs ntfs: write vfat or ext4');
    const size = await cli('make-cache-disk', join(dir, 'x.img'), '--size', 'big');
    expect(size.code).toBe(2);
    expect(size.stderr).toContain('inetboot: error: --size big: write a size such as 64M, 1G or 1073741824 (bytes)');
  });
});
