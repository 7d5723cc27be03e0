/**
 * Quoting: exact outputs, refusals with their messages, and a seeded fuzz that reads every
 * accepted output back with a reference parser (GRUB's lexer for the subset we write, the
 * kernel's next_arg(), GRUB's grub_create_loader_cmdline()). The real parsers (dash, BusyBox
 * sh, grub-script-check) read the same fuzz set in test/integration/quote-tools.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { QuoteError } from '../../src/errors.js';
import { grubLinuxArgs, grubMenuTitle, grubQuote, grubWord, kernelCmdline, kernelParam, kernelParamsOf, shQuote, type KernelParam } from '../../src/quote.js';

// ---------------------------------------------------------------------------------------
// Reference parsers

/**
 * GRUB script words, for the subset of GRUB's lexer (grub-core/script/yylex.l) that the
 * quoting functions may produce: words separated by blanks, `'...'` taken literally,
 * `\c` outside quotes standing for c, and bare characters only from the set grubWord
 * leaves unquoted. Anything else (`$`, `"`, `;`, `#`, wildcards, newlines...) throws:
 * the quoting must never leave such a character where GRUB would interpret it.
 */
function parseGrubWords(text: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated single quote in ${JSON.stringify(text)}`);
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined || next === '\n') throw new Error(`backslash at end of ${JSON.stringify(text)}`);
      word = (word ?? '') + next;
      i++;
    } else if (/^[A-Za-z0-9_.,:/=+-]$/.test(c)) {
      word = (word ?? '') + c;
    } else {
      throw new Error(`unquoted ${JSON.stringify(c)} in ${JSON.stringify(text)}`);
    }
  }
  if (word !== null) words.push(word);
  return words;
}

// The port of the kernel's own parser (next_arg, parse_args), src/quote.ts.
const kernelSplit = kernelParamsOf;

/** Port of GRUB's grub_create_loader_cmdline() (grub-core/lib/cmdline.c, GRUB 2.06). */
function grubLoaderCmdline(argv: readonly string[]): string {
  return argv
    .map((arg) => {
      const escaped = arg.replace(/[\\'"]/g, (c) => `\\${c}`);
      return arg.includes(' ') ? `"${escaped}"` : escaped;
    })
    .join(' ');
}

// ---------------------------------------------------------------------------------------
// Exact outputs and refusals

function quoteError(f: () => unknown): QuoteError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(QuoteError);
    return err as QuoteError;
  }
  throw new Error('expected a QuoteError, nothing was thrown');
}

describe('grubQuote', () => {
  test.each([
    ['Debian 12', `'Debian 12'`],
    ['', `''`],
    ["it's", `'it'\\''s'`],
    [`it's "quoted" $x; reboot`, `'it'\\''s "quoted" $x; reboot'`],
    ['{braces} # not a comment', `'{braces} # not a comment'`],
    ['back\\slash', `'back\\slash'`],
    ['Ünïcödé 日本 😀', `'Ünïcödé 日本 😀'`],
    ['-x', `'-x'`],
  ])('%j -> %s', (input, expected) => {
    expect(grubQuote(input)).toBe(expected);
  });

  test.each([
    ['a\nb', 'U+000A'],
    ['tab\there', 'U+0009'],
    ['nul\0', 'U+0000'],
    ['del\x7f', 'U+007F'],
    ['csi\x9b', 'U+009B'],
  ])('refuses %j', (input, codePoint) => {
    expect(quoteError(() => grubQuote(input)).message).toBe(
      `cannot write ${JSON.stringify(input)} into GRUB script: it contains the control character ${codePoint}; remove tabs, newlines and other control characters`,
    );
  });

  test('refuses a lone surrogate', () => {
    expect(quoteError(() => grubQuote('a\uD800')).message).toContain('lone UTF-16 surrogate');
  });
});

describe('grubWord', () => {
  test.each([
    ['ib.entry=debian', 'ib.entry=debian'],
    ['console=ttyS0,115200n8', 'console=ttyS0,115200n8'],
    ['/boot/inetboot/vmlinuz', '/boot/inetboot/vmlinuz'],
    ['', `''`],
    ['a b', `'a b'`],
    ['$root', `'$root'`],
    ['*.mod', `'*.mod'`],
    ['#x', `'#x'`],
    ["it's", `'it'\\''s'`],
  ])('%j -> %s', (input, expected) => {
    expect(grubWord(input)).toBe(expected);
  });

  test('refuses a leading "-"', () => {
    expect(quoteError(() => grubWord('--id')).message).toBe(
      'cannot write "--id" as a GRUB argument: it starts with "-", which GRUB would read as an option',
    );
  });
});

describe('grubMenuTitle', () => {
  test('quotes always', () => {
    expect(grubMenuTitle('Debian')).toBe(`'Debian'`);
  });
  test('refuses a leading "-" and the empty title', () => {
    expect(quoteError(() => grubMenuTitle('-Debian')).message).toBe(
      'cannot write "-Debian" as a GRUB menu title: it starts with "-", which GRUB would read as an option',
    );
    expect(quoteError(() => grubMenuTitle('')).message).toBe('cannot write an empty GRUB menu title: give the entry a title');
  });
});

describe('shQuote', () => {
  test.each([
    ['abc', `'abc'`],
    ['', `''`],
    ["it's", `'it'\\''s'`],
    ['$(touch /x) `id` "a" \\n', `'$(touch /x) \`id\` "a" \\n'`],
    ['é', `'é'`],
  ])('%j -> %s', (input, expected) => {
    expect(shQuote(input)).toBe(expected);
  });

  test.each([['a\nb'], ['\0'], ['\t'], ['\x1b[2J']])('refuses %j', (input) => {
    expect(quoteError(() => shQuote(input)).message).toMatch(/^cannot write .* into a shell script: it contains the control character U\+00[01][0-9A-F]; /);
  });
});

describe('kernelParam and kernelCmdline', () => {
  test.each<[string, string | undefined, string]>([
    ['quiet', undefined, 'quiet'],
    ['console', 'ttyS0,115200n8', 'console=ttyS0,115200n8'],
    ['ib.entry', 'debian', 'ib.entry=debian'],
    ['empty', '', 'empty='],
    ['msg', 'hello world', 'msg="hello world"'],
    ['root', 'UUID=1234', 'root=UUID=1234'],
    ['x', "it's \\ $ok", `x="it's \\ $ok"`],
  ])('%s %j -> %s', (key, value, expected) => {
    expect(kernelParam(key, value)).toBe(expected);
  });

  test.each<[string, string | undefined, string]>([
    ['a', 'say "hi"', 'cannot write kernel parameter value "say \\"hi\\"": it contains a double quote ("), and the kernel command line has no escape for one'],
    ['', 'x', 'cannot write a kernel parameter with an empty name (value "x")'],
    ['a=b', 'c', 'cannot write kernel parameter name "a=b": it contains "=", so the kernel would split the name there'],
    ['a b', undefined, 'cannot write kernel parameter name "a b": it contains a space, which would split it into two words'],
    ['"a', undefined, 'cannot write kernel parameter name "\\"a": it contains a double quote ("), and the kernel command line has no escape for one'],
    ['a', 'x\ty', 'cannot write "x\\ty" into the kernel command line: it contains the control character U+0009; remove tabs, newlines and other control characters'],
    ['a', 'café', 'cannot write kernel parameter value "café": it is not printable ASCII, and the kernel command line has no encoding'],
    ['--', undefined, 'cannot write a bare "--" as a kernel parameter: the kernel would end its parameters there and pass the rest to init'],
  ])('refuses %j %j', (key, value, message) => {
    expect(quoteError(() => kernelParam(key, value)).message).toBe(message);
  });

  test('joins words and reads back', () => {
    const params: KernelParam[] = [['ib.entry', 'debian'], ['msg', 'a b'], ['quiet']];
    expect(kernelCmdline(params)).toBe('ib.entry=debian msg="a b" quiet');
    expect(kernelSplit(kernelCmdline(params))).toEqual(params);
  });

  test('holds at most 2047 bytes', () => {
    expect(kernelCmdline([['x', 'a'.repeat(2045)]])).toHaveLength(2047);
    expect(quoteError(() => kernelCmdline([['x', 'a'.repeat(2046)]])).message).toBe(
      'the kernel command line would be 2048 bytes, more than the limit of 2047 (x86 holds 2048 bytes with the final NUL): shorten it',
    );
    expect(() => kernelCmdline([['x', 'a'.repeat(8)]], 10)).not.toThrow();
    expect(() => kernelCmdline([['x', 'a'.repeat(9)]], 10)).toThrow(QuoteError);
  });

  test('the reference parser knows the kernel quirks', () => {
    expect(kernelSplit('a="b c" "d=e f" g')).toEqual([['a', 'b c'], ['d', 'e f'], ['g']]);
    expect(kernelSplit('  x=  -- y=1')).toEqual([['x', '']]);
    expect(kernelSplit('a=x"y z"w')).toEqual([['a', 'x"y z"w']]);
  });
});

describe('grubLinuxArgs', () => {
  test('gives GRUB unquoted words; GRUB adds the quotes the kernel needs', () => {
    const params: KernelParam[] = [['ib.entry', 'debian'], ['msg', 'a b'], ['quiet']];
    const args = grubLinuxArgs('/boot/inetboot/vmlinuz', params);
    expect(args).toEqual(['ib.entry=debian', 'msg=a b', 'quiet']);
    expect(args.map(grubWord).join(' ')).toBe(`ib.entry=debian 'msg=a b' quiet`);
    const line = grubLoaderCmdline(['BOOT_IMAGE=/boot/inetboot/vmlinuz', ...args]);
    expect(line).toBe('BOOT_IMAGE=/boot/inetboot/vmlinuz ib.entry=debian "msg=a b" quiet');
    expect(kernelSplit(line).slice(1)).toEqual(params);
  });

  test('a kernelParam() word would not survive GRUB', () => {
    // Why grubLinuxArgs exists: GRUB escapes the quotes that kernelParam() adds.
    const line = grubLoaderCmdline([kernelParam('msg', 'a b')]);
    expect(line).toBe('"msg=\\"a b\\""');
    expect(kernelSplit(line)).not.toEqual([['msg', 'a b']]);
  });

  test.each([
    ['x', "it's", "cannot write kernel parameter value \"it's\": it contains a single quote ('), which GRUB's linux command would pass on with a backslash in front"],
    ['x', 'a\\b', 'cannot write kernel parameter value "a\\\\b": it contains a backslash (\\), which GRUB\'s linux command would pass on with a backslash in front'],
  ])('refuses %j %j', (key, value, message) => {
    expect(quoteError(() => grubLinuxArgs('/k', [[key, value]])).message).toBe(message);
  });

  test('counts BOOT_IMAGE=path in the 2047 bytes', () => {
    const prefix = 'BOOT_IMAGE=/k '.length;
    expect(() => grubLinuxArgs('/k', [['x', 'a'.repeat(2047 - prefix - 2)]])).not.toThrow();
    expect(quoteError(() => grubLinuxArgs('/k', [['x', 'a'.repeat(2047 - prefix - 1)]])).message).toMatch(/would be 2048 bytes/);
    // A space costs two bytes more: GRUB wraps the word in double quotes.
    expect(() => grubLinuxArgs('/k', [['x', ' '.repeat(2047 - prefix - 4)]])).not.toThrow();
    expect(() => grubLinuxArgs('/k', [['x', ' '.repeat(2047 - prefix - 3)]])).toThrow(QuoteError);
  });

  test('refuses a name starting with "-", which grubWord() could not write', () => {
    expect(quoteError(() => grubLinuxArgs('/k', [['-s']])).message).toBe(
      'cannot write kernel parameter name "-s" in a GRUB command: it starts with "-", which GRUB commands read as an option',
    );
  });

  test('refuses a kernel path GRUB would escape', () => {
    expect(quoteError(() => grubLinuxArgs('/my kernel', [])).message).toBe(
      'cannot use "/my kernel" as the kernel path: write an absolute path of printable ASCII without spaces, quotes or backslashes',
    );
    expect(() => grubLinuxArgs('vmlinuz', [])).toThrow(QuoteError);
  });
});

// ---------------------------------------------------------------------------------------
// Fuzz

import { attempt, COUNT, FUZZ, prng, randomString, SEED, UNWRITABLE_RE } from '../helpers/fuzz.js';

describe(`fuzz (seed ${SEED}, ${COUNT} strings)`, () => {
  test('the fuzz set is nasty enough', () => {
    const accepted = FUZZ.filter((s) => !UNWRITABLE_RE.test(s));
    expect(accepted.length).toBeGreaterThan(COUNT / 2);
    expect(FUZZ.length - accepted.length).toBeGreaterThan(COUNT / 20);
    for (const c of `'"\\$\`;#{}`) expect(accepted.some((s) => s.includes(c))).toBe(true);
  });

  test('grubQuote and grubWord read back as one word (reference parser)', () => {
    for (const s of FUZZ) {
      const unwritable = UNWRITABLE_RE.test(s);
      const q = attempt(() => grubQuote(s));
      expect(q === undefined, `grubQuote(${JSON.stringify(s)})`).toBe(unwritable);
      if (q !== undefined) expect(parseGrubWords(q)).toEqual([s]);
      const w = attempt(() => grubWord(s));
      expect(w === undefined, `grubWord(${JSON.stringify(s)})`).toBe(unwritable || s.startsWith('-'));
      if (w !== undefined) expect(parseGrubWords(w)).toEqual([s]);
      const t = attempt(() => grubMenuTitle(s));
      expect(t === undefined, `grubMenuTitle(${JSON.stringify(s)})`).toBe(unwritable || s.startsWith('-') || s === '');
    }
  });

  test('kernelParam and grubLinuxArgs read back through next_arg (reference) or refuse', () => {
    const r = prng(SEED + 1);
    const printable = (s: string, lo: number) => [...s].every((c) => c.charCodeAt(0) >= lo && c.charCodeAt(0) <= 0x7e);
    let acceptedKernel = 0;
    let acceptedGrub = 0;
    const line: KernelParam[] = [];
    for (const value of FUZZ) {
      const key = randomString(r, 4) || (r() < 0.5 ? 'k' : '');
      const v = r() < 0.2 ? undefined : value;
      const representable =
        key !== '' && printable(key, 0x21) && !/[="]/.test(key) && (v === undefined || (printable(v, 0x20) && !v.includes('"'))) && !(key === '--' && v === undefined);
      const word = attempt(() => kernelParam(key, v));
      expect(word !== undefined, `kernelParam(${JSON.stringify(key)}, ${JSON.stringify(v)})`).toBe(representable);
      if (word !== undefined) {
        acceptedKernel++;
        expect(kernelSplit(word)).toEqual([v === undefined ? [key] : [key, v]]);
        if (line.length < 60) line.push(v === undefined ? [key] : [key, v]);
      }

      const survivesGrub = representable && !/[\\']/.test(key + (v ?? '')) && !key.startsWith('-');
      const args = attempt(() => grubLinuxArgs('/k', [v === undefined ? [key] : [key, v]]));
      expect(args !== undefined, `grubLinuxArgs(${JSON.stringify(key)}, ${JSON.stringify(v)})`).toBe(survivesGrub);
      const written = grubLoaderCmdline(['BOOT_IMAGE=/k', ...(args ?? [v === undefined ? key : `${key}=${v}`])]);
      if (args !== undefined) {
        acceptedGrub++;
        expect(parseGrubWords(args.map(grubWord).join(' '))).toEqual(args);
        expect(kernelSplit(written)).toEqual([['BOOT_IMAGE', '/k'], v === undefined ? [key] : [key, v]]);
      } else if (representable && !key.startsWith('-')) {
        // Refused only for \ or ': GRUB would indeed have changed the parameter.
        expect(kernelSplit(written)).not.toEqual([['BOOT_IMAGE', '/k'], v === undefined ? [key] : [key, v]]);
      }
    }
    expect(acceptedKernel).toBeGreaterThan(COUNT / 10);
    expect(acceptedGrub).toBeGreaterThan(COUNT / 20);
    expect(kernelSplit(kernelCmdline(line))).toEqual(line);
  });
});
