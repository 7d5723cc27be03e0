/**
 * The quoting functions (src/quote.ts) against the real parsers they write for: dash and
 * BusyBox sh read back every shQuote() word of the fuzz set (test/helpers/fuzz.ts), and
 * grub-script-check accepts every GRUB word. The reference parsers and the exact outputs are
 * unit tests (test/unit/quote.test.ts).
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, test } from 'vitest';
import { grubMenuTitle, grubQuote, grubWord, shQuote } from '../../src/quote.js';
import { attempt, COUNT, FUZZ, SEED, UNWRITABLE_RE } from '../helpers/fuzz.js';
import { testTempDir } from '../helpers/temp.js';

const work = testTempDir('inetboot-quote-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function decodeNulSeparated(out: Uint8Array): string[] {
  const text = Buffer.from(out).toString('utf8');
  expect(text.endsWith('\0') || text === '').toBe(true);
  return text === '' ? [] : text.slice(0, -1).split('\0');
}


describe(`quoting read back by the real parsers (fuzz seed ${SEED}, ${COUNT} strings)`, () => {
  const shells: [string, string, string[]][] = [['dash', '/bin/sh', []]];
  if (existsSync('/bin/busybox')) shells.push(['busybox sh', '/bin/busybox', ['sh']]);

  test.each(shells)('shQuote round-trips through %s', async (_name, cmd, args) => {
    const accepted: string[] = [];
    const lines: string[] = [];
    for (const s of FUZZ) {
      const q = attempt(() => shQuote(s));
      expect(q === undefined, `shQuote(${JSON.stringify(s)}) refused: ${q === undefined}`).toBe(UNWRITABLE_RE.test(s));
      if (q === undefined) continue;
      accepted.push(s);
      lines.push(`printf '%s\\0' ${q}`);
    }
    const script = join(work, `sh-${args.length}.sh`);
    writeFileSync(script, lines.join('\n') + '\n');
    const result = await execa(cmd, [...args, script], { encoding: 'buffer', reject: false });
    expect(Buffer.from(result.stderr).toString(), 'shell stderr').toBe('');
    expect(result.exitCode).toBe(0);
    expect(decodeNulSeparated(result.stdout)).toEqual(accepted);
  });

  test('grubQuote, grubWord and grubMenuTitle pass grub-script-check', async () => {
    const lines: string[] = [];
    for (const [n, s] of FUZZ.entries()) {
      const title = attempt(() => grubMenuTitle(s));
      const word = attempt(() => grubWord(s));
      const quoted = attempt(() => grubQuote(s));
      if (quoted === undefined) continue;
      if (title !== undefined && word !== undefined) {
        lines.push(`menuentry ${title} --id ${grubWord(`e${n}`)} {`, `\techo ${quoted}`, `\tlinux /k ${word} x=${quoted}`, '}');
      } else {
        lines.push(`set v=${quoted}`, `echo ${quoted} "$v"`);
      }
    }
    const file = join(work, 'fuzz.cfg');
    writeFileSync(file, lines.join('\n') + '\n');
    const result = await execa('grub-script-check', [file], { reject: false });
    expect(result.failed && result.code === 'ENOENT' ? 'grub-script-check not found: install grub-common' : result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

});
