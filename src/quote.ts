/**
 * Quoting, one function per target language: GRUB script, POSIX shell, the Linux
 * kernel command line. Each either returns text that the target reads back as exactly
 * the input, or throws a QuoteError that says what cannot be written and why. Templates
 * only ever receive the output of these functions.
 *
 * Common rule: control characters (C0, DEL, C1) are refused everywhere. They are never
 * needed in a title, URL or parameter, they would end up on a console (where C1 0x9b is
 * a CSI on some terminals), and refusing them keeps generated files one item per line.
 * Lone UTF-16 surrogates are refused too: they have no UTF-8 form, so the bytes written
 * would not be the string we were given.
 */
import { QuoteError } from './errors.js';
import { CONTROL_RE, MAX_CMDLINE } from './config/schema.js';

const LONE_SURROGATE_RE = /[\uD800-\uDFFF]/u;

/** The value as it appears in a message: JSON escapes make control characters visible. */
function show(s: string): string {
  const shown = JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
  return shown;
}

function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

function rejectUnwritable(s: string, where: string): void {
  const control = CONTROL_RE.exec(s);
  if (control) {
    throw new QuoteError(
      `cannot write ${show(s)} into ${where}: it contains the control character ${codePoint(control[0])}; remove tabs, newlines and other control characters`,
    );
  }
  if (LONE_SURROGATE_RE.test(s)) {
    throw new QuoteError(`cannot write ${show(s)} into ${where}: it contains a lone UTF-16 surrogate, which has no UTF-8 form`);
  }
}

// ---------------------------------------------------------------------------------------
// GRUB script

/**
 * Characters GRUB's lexer takes literally in an unquoted word. Left out on purpose:
 * `* ? [` (GRUB expands them as wildcards when the regexp module is loaded), `$ " ' \`,
 * the separators `; | & < >`, `{ }`, `#` and everything non-ASCII.
 */
const GRUB_BARE_RE = /^[A-Za-z0-9_.,:/=+-]+$/;

/**
 * One GRUB script word, always in single quotes, with `'` written as `'\''` (as
 * grub-mkconfig's grub_quote does). Inside single quotes GRUB takes every character
 * literally, `$` and `\` included. The empty string gives `''`, an empty argument.
 */
export function grubQuote(s: string): string {
  rejectUnwritable(s, 'GRUB script');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function rejectLeadingDash(s: string, what: string): void {
  if (s.startsWith('-')) {
    throw new QuoteError(`cannot write ${show(s)} as ${what}: it starts with "-", which GRUB would read as an option`);
  }
}

/**
 * One argument of a GRUB command: left bare when it holds only characters GRUB reads
 * literally (so `linux` lines look as a person would type them at GRUB's edit prompt),
 * single-quoted otherwise. Refuses a leading `-`: commands such as `menuentry` and `echo`
 * would read the word as an option whether it is quoted or not.
 */
export function grubWord(s: string): string {
  rejectLeadingDash(s, 'a GRUB argument');
  return GRUB_BARE_RE.test(s) ? s : grubQuote(s);
}

/** A menu entry title: always single-quoted, never empty, never starting with `-`. */
export function grubMenuTitle(s: string): string {
  if (s === '') throw new QuoteError('cannot write an empty GRUB menu title: give the entry a title');
  rejectLeadingDash(s, 'a GRUB menu title');
  return grubQuote(s);
}

// ---------------------------------------------------------------------------------------
// POSIX shell

/**
 * One POSIX sh word in single quotes, with `'` written as `'\''`. Inside single quotes
 * sh takes every byte literally, so non-ASCII (UTF-8) text passes unchanged. sh could
 * hold a newline inside single quotes too, but we refuse every control character: the
 * values we quote (URLs, hashes, titles) never need one, and a NUL cannot be in a shell
 * word at all.
 */
export function shQuote(s: string): string {
  rejectUnwritable(s, 'a shell script');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------
// Linux kernel command line
//
// The kernel splits its command line with lib/cmdline.c next_arg(): words end at a space
// outside double quotes, a `"` anywhere toggles "inside quotes", and one pair of quotes
// around the value (`key="a b"`) or around the whole word (`"key=a b"`) is removed. There
// is no escape: a `"` inside a value cannot be written. A bare `--` ends the kernel's
// parameters and hands the rest to init.

/** `[key]` for a flag such as `quiet`, `[key, value]` for `key=value`. */
export type KernelParam = readonly [key: string, value?: string];

const PRINTABLE_ASCII_RE = /^[\x20-\x7e]*$/;

/** Characters refused on top of the kernel's own rules, each with how a message names it. */
type Forbidden = readonly (readonly [char: string, name: string])[];

function checkKernelParam(key: string, value: string | undefined, extraForbidden: Forbidden = [], why = ''): void {
  const where = 'the kernel command line';
  if (key === '') throw new QuoteError(`cannot write a kernel parameter with an empty name${value === undefined ? '' : ` (value ${show(value)})`}`);
  for (const [what, text] of [['name', key], ['value', value]] as const) {
    if (text === undefined) continue;
    rejectUnwritable(text, where);
    if (!PRINTABLE_ASCII_RE.test(text)) {
      throw new QuoteError(`cannot write kernel parameter ${what} ${show(text)}: it is not printable ASCII, and the kernel command line has no encoding`);
    }
    if (text.includes('"')) {
      throw new QuoteError(`cannot write kernel parameter ${what} ${show(text)}: it contains a double quote ("), and the kernel command line has no escape for one`);
    }
    for (const [c, name] of extraForbidden) {
      if (text.includes(c)) throw new QuoteError(`cannot write kernel parameter ${what} ${show(text)}: it contains ${name}, ${why}`);
    }
  }
  if (key.includes('=')) throw new QuoteError(`cannot write kernel parameter name ${show(key)}: it contains "=", so the kernel would split the name there`);
  if (key.includes(' ')) throw new QuoteError(`cannot write kernel parameter name ${show(key)}: it contains a space, which would split it into two words`);
  if (key === '--' && value === undefined) {
    throw new QuoteError('cannot write a bare "--" as a kernel parameter: the kernel would end its parameters there and pass the rest to init');
  }
}

/**
 * One kernel command-line word: `key`, `key=value`, or `key="value"` when the value
 * holds a space. Refuses what the kernel cannot read back: a `"` (no escape exists),
 * control characters, non-ASCII, an empty name, a name with `=`, a space or `"`.
 */
export function kernelParam(key: string, value?: string): string {
  checkKernelParam(key, value);
  if (value === undefined) return key;
  return value.includes(' ') ? `${key}="${value}"` : `${key}=${value}`;
}

const isKernelSpace = (c: string | undefined) => c !== undefined && ' \t\n\v\f\r'.includes(c);
const skipKernelSpaces = (s: string) => s.replace(/^[ \t\n\v\f\r]+/, '');

/**
 * Port of lib/cmdline.c next_arg() (Linux 6.x): one word of a command line, as the kernel
 * splits it. The kernel edits the string in place, writing NULs; `chars` models that, and
 * cString() reads up to the first NUL.
 */
export function nextArg(args: string): { param: string; val: string | null; rest: string } {
  let quoted = false;
  let inQuote = false;
  if (args.startsWith('"')) {
    args = args.slice(1);
    inQuote = true;
    quoted = true;
  }
  let i = 0;
  let equals = 0;
  for (; i < args.length; i++) {
    if (isKernelSpace(args[i]) && !inQuote) break;
    if (equals === 0 && args[i] === '=') equals = i;
    if (args[i] === '"') inQuote = !inQuote;
  }
  const chars = args.slice(0, i).split('');
  const cString = (from: number) => {
    const end = chars.indexOf('\0', from);
    return chars.slice(from, end < 0 ? chars.length : end).join('');
  };
  let valStart = -1;
  if (equals !== 0) {
    chars[equals] = '\0';
    valStart = equals + 1;
    // "Don't include quotes in value."
    if (chars[valStart] === '"') {
      valStart++;
      if (chars[i - 1] === '"') chars[i - 1] = '\0';
    }
  }
  if (quoted && i > 0 && chars[i - 1] === '"') chars[i - 1] = '\0';
  const rest = i < args.length ? skipKernelSpaces(args.slice(i + 1)) : '';
  return { param: cString(0), val: valStart < 0 ? null : cString(valStart), rest };
}

/**
 * kernel/params.c parse_args(): the kernel parameters of a command line, up to a bare `--`,
 * after which the kernel hands the words to init. Used to see what a command line already sets
 * (pass_network's ip=: config/cmdline-rules.ts).
 */
export function kernelParamsOf(line: string): KernelParam[] {
  const out: KernelParam[] = [];
  let args = skipKernelSpaces(line);
  while (args !== '') {
    const { param, val, rest } = nextArg(args);
    if (val === null && param === '--') break;
    out.push(val === null ? [param] : [param, val]);
    args = rest;
  }
  return out;
}

function checkLength(bytes: number, maxBytes: number, what: string): void {
  if (bytes > maxBytes) {
    throw new QuoteError(`${what} would be ${bytes} bytes, more than the limit of ${maxBytes} (x86 holds 2048 bytes with the final NUL): shorten it`);
  }
}

/** A whole kernel command line, as the kernel reads it; at most maxBytes (2047 on x86). */
export function kernelCmdline(params: readonly KernelParam[], maxBytes: number = MAX_CMDLINE): string {
  const line = params.map(([key, value]) => kernelParam(key, value)).join(' ');
  checkLength(Buffer.byteLength(line), maxBytes, 'the kernel command line');
  return line;
}

/** What grub_create_loader_cmdline() escapes with a backslash. */
const GRUB_ESCAPED: Forbidden = [
  ['\\', 'a backslash (\\)'],
  ["'", "a single quote (')"],
];

/**
 * The arguments to give GRUB's `linux` command (after the kernel path) so that the
 * kernel receives exactly `params`. They are NOT kernelParam() words: GRUB rebuilds the
 * command line itself (grub-core/lib/cmdline.c grub_create_loader_cmdline): it puts
 * double quotes around any argument that holds a space and a backslash before every
 * `\`, `'` and `"`. The kernel does not undo those backslashes, so those three
 * characters are refused here, and spaces are left for GRUB to quote (`"key=a b"`, which
 * the kernel reads as key `key`, value `a b`). GRUB writes `BOOT_IMAGE=<kernelPath>` in
 * front and silently drops arguments that do not fit, so the length counts it.
 * Each returned word still has to be quoted for GRUB script with grubWord(), so names
 * starting with `-` are refused too.
 */
export function grubLinuxArgs(kernelPath: string, params: readonly KernelParam[], maxBytes: number = MAX_CMDLINE): string[] {
  rejectUnwritable(kernelPath, 'a GRUB linux command');
  if (!/^\/[\x21-\x7e]*$/.test(kernelPath) || /["'\\]/.test(kernelPath)) {
    throw new QuoteError(`cannot use ${show(kernelPath)} as the kernel path: write an absolute path of printable ASCII without spaces, quotes or backslashes`);
  }
  const words = params.map(([key, value]) => {
    checkKernelParam(key, value, GRUB_ESCAPED, "which GRUB's linux command would pass on with a backslash in front");
    // `linux` itself takes no options, but every word must be fit for grubWord().
    if (key.startsWith('-')) throw new QuoteError(`cannot write kernel parameter name ${show(key)} in a GRUB command: it starts with "-", which GRUB commands read as an option`);
    return value === undefined ? key : `${key}=${value}`;
  });
  const written = [`BOOT_IMAGE=${kernelPath}`, ...words.map((w) => (w.includes(' ') ? `"${w}"` : w))].join(' ');
  checkLength(Buffer.byteLength(written), maxBytes, `the kernel command line GRUB writes ("BOOT_IMAGE=${kernelPath}" included)`);
  return words;
}

// ---------------------------------------------------------------------------------------
// XML text (the JUnit report of `inetboot smoke --junit`)

/**
 * Characters XML 1.0 cannot hold at all, not even as a character reference: C0 controls other
 * than tab, newline and carriage return, lone surrogates, U+FFFE and U+FFFF.
 */
const XML_UNWRITABLE_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/gu;

/**
 * Text for an XML attribute value or element content: `& < > " '` written as entities. Unlike
 * the functions above it does not refuse what it cannot write: what goes into a report is a
 * guest's console output, which is reported as it came, so a character XML cannot hold becomes
 * U+FFFD (the replacement character) instead. Newlines and tabs stay as they are in content;
 * in attributes give only single-line text.
 */
export function xmlText(s: string): string {
  return s.replace(XML_UNWRITABLE_RE, '\ufffd').replace(/[&<>"']/g, (c) => XML_ENTITIES[c]!);
}

const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
