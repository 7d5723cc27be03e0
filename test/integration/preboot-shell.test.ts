/**
 * The preboot's shell libraries run by the real BusyBox sh: the kernel command-line parser
 * (cmdline_get) against command lines built by kernelCmdline(), fuzzed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { kernelCmdline, type KernelParam } from '../../src/quote.js';
import { prebootSh } from '../helpers/preboot-shell.js';
import { testTempDir } from '../helpers/temp.js';

const dir = testTempDir('inetboot-cmdline-');

/** Runs cmdline_get for each key over one command line; returns [exit code, value] per key. */
async function getAll(cmdline: string, keys: string[]): Promise<[number, string][]> {
  const file = join(dir, 'cmdline');
  writeFileSync(file, cmdline + '\n');
  const r = await prebootSh(`IB_CMDLINE_FILE=$1; shift
for k in "$@"; do v=$(cmdline_get "$k"); rc=$?; printf '%s\\0%s\\0' "$rc" "$v"; done`, { libs: ['common'], args: [file, ...keys] });
  const parts = r.stdout.split('\0');
  return keys.map((_, i) => [Number(parts[2 * i]), parts[2 * i + 1] ?? '']);
}

describe('cmdline_get (BusyBox sh + awk)', () => {
  it('reads values as the kernel splits them', async () => {
    const line = 'BOOT_IMAGE=/boot/inetboot/vmlinuz ib.entry=debian ib.append="console=ttyS0 quiet" console=tty0 console=ttyS0,115200n8 quiet';
    // absent: its text is nowhere (answered without awk); ib and ttyS0: their text is there, in
    // longer keys and in values, but no parameter has that key.
    expect(await getAll(line, ['ib.entry', 'ib.append', 'console', 'quiet', 'absent', 'ib', 'ttyS0'])).toEqual([
      [0, 'debian'],
      [0, 'console=ttyS0 quiet'],
      [0, 'ttyS0,115200n8'],
      [0, ''],
      [1, ''],
      [1, ''],
      [1, ''],
    ]);
  });

  it('never executes what it reads', async () => {
    const marker = join(dir, 'pwned');
    const line = `ib.entry=$(touch${'${IFS}'}${marker}) x=\`touch${'${IFS}'}${marker}\` ib.append="; touch ${marker}"`;
    const got = await getAll(line, ['ib.entry', 'x', 'ib.append']);
    expect(got[0]).toEqual([0, `$(touch\${IFS}${marker})`]);
    expect(got[2]).toEqual([0, `; touch ${marker}`]);
    const exists = await execa('test', ['-e', marker], { reject: false });
    expect(exists.exitCode).toBe(1);
  });

  it('round-trips random parameters built by kernelCmdline (fuzz)', async () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = 'abcXYZ019 .,:/=-_$`;&|<>(){}[]*?!#~\'\\';
    for (let round = 0; round < 40; round++) {
      const params: KernelParam[] = [];
      const n = 1 + rand(8);
      for (let i = 0; i < n; i++) {
        let value = '';
        for (let j = rand(12); j > 0; j--) value += alphabet[rand(alphabet.length)];
        params.push([`k${round}.p${i}`, value]);
      }
      const line = kernelCmdline(params);
      const got = await getAll(line, params.map(([k]) => k));
      expect(got, line).toEqual(params.map(([, v]) => [0, v ?? '']));
    }
  });
});
