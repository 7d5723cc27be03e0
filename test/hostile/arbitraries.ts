/**
 * fast-check generators of hostile input for the property tests: titles, URLs and kernel
 * command lines built from the characters that break GRUB script, shell, the kernel's parser
 * and BusyBox wget, mixed with ordinary text.
 */
import fc from 'fast-check';

/** Characters with a meaning somewhere on the way: GRUB, sh, the kernel, YAML, terminals. */
export const NASTY = [..."'\"`\\$;|&<>(){}[]*?!#~%=@:,./-_ \t\n\r", '\u0000', '\u001b', '\u007f', '\u009b', '\u00a0', '\u00ad', '\u200b', '\u200d', '\u200e', '\u2028', '\u202e', '\u2066', '\u3164', '\ufeff', '\ud800', 'é', 'ß', '日本', '🚀', 'e\u0301', '@TITLE@', '$(reboot)', '${IFS}', "'\\''", '--', 'ib.entry=x'];

const piece = fc.oneof(
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom(...'abcXYZ019 .-_') }) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 3, unit: 'binary' }) },
);

/** Any text, usually short, often hostile. */
export function hostileText(maxPieces = 12): fc.Arbitrary<string> {
  return fc.array(piece, { minLength: 1, maxLength: maxPieces }).map((p) => p.join(''));
}

/** Characters that mean something to GRUB, sh or a terminal but that a title may hold. */
const PRINTABLE_NASTY = [..."'\"`\\$;|&<>(){}[]*?!#~%=@:,./-_ ", 'é', 'ß', '日本', '🚀', 'e\u0301', '\u00a0', '@TITLE@', '$(reboot)', '${IFS}', "'\\''", '--'];

/** Titles: mostly ones a config may hold (with every printable trap), sometimes anything. */
export function titleArbitrary(): fc.Arbitrary<string> {
  const printable = fc
    .array(fc.oneof(fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom(...'abcXYZ019') }), fc.constantFrom(...PRINTABLE_NASTY)), { minLength: 1, maxLength: 10 })
    .map((p) => p.join(''));
  return fc.oneof({ weight: 4, arbitrary: printable }, { weight: 1, arbitrary: hostileText() });
}

const oneOfWeighted = <T>(common: fc.Arbitrary<T>, rare: fc.Arbitrary<T>, weight = 6) => fc.oneof({ weight, arbitrary: common }, { weight: 1, arbitrary: rare });

const hostPart = oneOfWeighted(
  fc.oneof(fc.constantFrom('10.0.2.2', '127.0.0.1', 'files.inetboot.test', 'h', 'mirror.example', '[fd00::2]'), fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom(...'abz09') })),
  fc.constantFrom('127.1', '010.0.0.1', 'bücher.example', 'u:p@h', '-h', 'h..x', '', 'a.b.9', '[::1', '0x7f.1'),
  4,
);
const pathChar = oneOfWeighted(
  fc.constantFrom(...'abcXYZ019/-._~!$&()*+,;=:@?'),
  fc.constantFrom('%20', '%2F', '%zz', '%', '#', ' ', '"', "'", '`', '\\', '<', '>', '{', '|', '^', 'é', '\u0000', '\n'),
  40,
);

/** URLs: mostly in the grammar, often just outside it. */
export function urlArbitrary(): fc.Arbitrary<string> {
  return fc
    .tuple(
      oneOfWeighted(fc.constantFrom('http', 'https'), fc.constantFrom('HTTP', 'Https', 'ftp', '')),
      oneOfWeighted(fc.constant('://'), fc.constantFrom(':', ':/', ':///', '//'), 10),
      hostPart,
      oneOfWeighted(fc.oneof(fc.constant(''), fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`)), fc.constantFrom(':', ':08080', ':0', ':70000')),
      fc.array(pathChar, { maxLength: 24 }).map((c) => c.join('')),
    )
    .map(([scheme, sep, host, port, rest]) => `${scheme}${sep}${host}${port}${rest === '' || /^[/?#]/.test(rest) ? rest : `/${rest}`}`);
}

/** Kernel command lines: parameters with quotes, spaces, shell syntax and "--". */
export function cmdlineArbitrary(): fc.Arbitrary<string> {
  const word = fc.oneof(
    fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom(...'abcXYZ019.,:/=-_') }),
    fc.constantFrom('console=ttyS0', 'quiet', '--', 'ip=10.0.2.9::10.0.2.2:255.255.255.0:::off', 'x="a b"', '"k=v w"', '$(touch${IFS}/tmp/x)', '`id`', ';', 'a;b', '|', '&&', "'", '\\', 'é', '"', 'ib.append="p q"'),
  );
  return fc.array(word, { minLength: 0, maxLength: 12 }).map((w) => w.join(' '));
}

/** What follows the host and port of a URL: "", a path, a query, sometimes hostile. */
export function urlPathArbitrary(): fc.Arbitrary<string> {
  return fc.array(pathChar, { maxLength: 32 }).map((c) => c.join('')).map((rest) => (rest === '' || /^[/?#]/.test(rest) ? rest : `/${rest}`));
}
