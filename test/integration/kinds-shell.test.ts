/**
 * The preboot's parsing of what a person types at GRUB (boot.sh: typed_url, typed_sha), run by
 * the real BusyBox sh against a command-line file. The boots themselves: test/boot/kinds.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prebootSh } from '../helpers/preboot-shell.js';
import { testTempDir } from '../helpers/temp.js';

const dir = testTempDir('inetboot-kinds-');

/** Runs FUNCTION PARAM with every preboot library sourced; returns [status, output]. */
async function call(cmdline: string, fn: string, param: string): Promise<[number, string]> {
  const file = join(dir, 'cmdline');
  writeFileSync(file, cmdline + '\n');
  const r = await prebootSh('IB_CMDLINE_FILE=$1; "$2" "$3"', { args: [file, fn, param] });
  return [r.code, r.stdout];
}

const HEX = 'AB'.repeat(32);

describe('typed parameters (BusyBox sh)', () => {
  it('typed_url: an http(s) URL, nothing when absent, a refusal naming the value otherwise', async () => {
    expect(await call('ib.entry=a iscript=http://10.0.2.2:8080/boot.sh', 'typed_url', 'iscript')).toEqual([0, 'http://10.0.2.2:8080/boot.sh']);
    expect(await call('ib.entry=a', 'typed_url', 'iscript')).toEqual([0, '']);
    expect(await call('ib.kernel=ftp://10.0.2.2/vmlinuz', 'typed_url', 'ib.kernel')).toEqual([
      1,
      'inetboot: ERROR: ib.kernel=ftp://10.0.2.2/vmlinuz is not an http:// or https:// URL',
    ]);
    expect(await call('ib.kernel=http://', 'typed_url', 'ib.kernel')).toEqual([1, 'inetboot: ERROR: ib.kernel=http:// is not an http:// or https:// URL']);
  });

  it('typed_sha: 64 hex digits, lower-cased; anything else is refused', async () => {
    expect(await call(`ib.kernel_sha256=${HEX}`, 'typed_sha', 'ib.kernel_sha256')).toEqual([0, HEX.toLowerCase()]);
    expect(await call('quiet', 'typed_sha', 'ib.kernel_sha256')).toEqual([0, '']);
    const bad = ['abc', `${HEX}0`, `${HEX.slice(1)}g`, '$(reboot)'];
    for (const v of bad) {
      expect(await call(`ib.kernel_sha256=${v}`, 'typed_sha', 'ib.kernel_sha256')).toEqual([
        1,
        `inetboot: ERROR: ib.kernel_sha256=${v} is not a sha256 (64 hexadecimal digits, the output of sha256sum)`,
      ]);
    }
  });
});
