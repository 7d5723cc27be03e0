/**
 * The preboot's sha256 checker (preboot-tools/inetboot-sha256.c), compiled by
 * src/pipeline/preboot/sha256-tool.ts with the host's gcc and libcrypto, run on this machine:
 * the same program the debian and kernel-source preboots carry as /sbin/inetboot-sha256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedLibraries } from '../../src/pipeline/preboot/userland.js';
import { prebootSha256Tool } from '../helpers/preboot-shell.js';
import { testTempDir } from '../helpers/temp.js';

let tool: string;
let dir: string;

beforeAll(async () => {
  tool = await prebootSha256Tool();
  dir = testTempDir('inetboot-sha256-files-');
});

const hex = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const sh = (args: string[]) => execa(tool, args, { reject: false });

describe('inetboot-sha256', () => {
  // The program reads 64 KiB at a time: sizes on each side of one and two reads, and SHA-256's
  // own 64-byte block and padding boundaries (55, 56, 64 bytes).
  it.each([0, 1, 55, 56, 63, 64, 65, 65_535, 65_536, 65_537, 131_072, 3_000_001])('prints what sha256sum prints for %i bytes', async (size) => {
    const data = randomBytes(size);
    const file = join(dir, `f${size}`);
    writeFileSync(file, data);
    const r = await sh([file]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${hex(data)}  ${file}`);
    expect(r.stderr).toBe('');
    const busybox = await execa('busybox', ['sha256sum', file]);
    expect(r.stdout).toBe(busybox.stdout);
  });

  it('a file it cannot read: exit 1, the reason on stderr, nothing on stdout', async () => {
    const missing = join(dir, 'missing');
    const r = await sh([missing]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`inetboot-sha256: ${missing}: No such file or directory`);
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    const d = await sh([folder]);
    expect(d.exitCode).toBe(1);
    expect(d.stdout).toBe('');
    expect(d.stderr).toBe(`inetboot-sha256: ${folder}: Is a directory`);
  });

  it('stdout that cannot be written is an error, not a digest', async () => {
    const file = join(dir, 'small');
    writeFileSync(file, 'abc');
    const r = await execa('sh', ['-c', '"$0" "$1" >/dev/full', tool, file], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe('inetboot-sha256: stdout: No space left on device');
  });

  it('usage: exactly one file, else exit 2', async () => {
    for (const args of [[], ['a', 'b']]) {
      const r = await sh(args);
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('usage: inetboot-sha256 FILE');
    }
  });

  it('libcrypto is linked in: the preboot needs only the glibc it carries for kexec', async () => {
    const libs = await sharedLibraries(tool);
    expect(libs.some((l) => /libcrypto|libssl/.test(l))).toBe(false);
    expect(libs.some((l) => /libc\.so/.test(l))).toBe(true);
  });
});
