/**
 * The one grammar of the URLs inetboot accepts: exactly what the preboot's downloader, BusyBox
 * wget 1.35, fetches as written (networking/wget.c parse_url, libbb/xconnect.c str2sockaddr).
 * The WHATWG URL parser is not that grammar: it accepts, and silently repairs, URLs that wget
 * refuses or reads differently, so it is not used to decide.
 *
 *   URL    = SCHEME "://" HOST [":" PORT] ["/" PATH] ["?" QUERY]
 *   SCHEME = "http" | "https"          any case is accepted and written lower-case
 *   HOST   = NAME | IPV4 | "[" IPV6 "]"
 *   NAME   = LABEL *("." LABEL) ["."]   LABEL: 1-63 of A-Z a-z 0-9 "_" "-", no "-" at either end;
 *                                       at most 253 characters; the last label is not all digits
 *   IPV4   = four numbers 0-255 without leading zeros, e.g. 10.0.2.2
 *   PORT   = 1-65535 without leading zeros
 *   PATH, QUERY = ASCII letters, digits and - . _ ~ ! $ & ( ) * + , ; = : @ / (and ? in QUERY),
 *                 or %XX
 *
 * What wget does with the rest, and so why it is refused (tested against the real BusyBox in
 * test/integration/url-wget.test.ts):
 *   - An upper-case scheme ("HTTPS://"): "not an http or ftp url". Lower-casing it is the one
 *     repair made; an upper-case https:// would also hide from needsTls() that openssl is needed.
 *   - No "//" ("http:host/x", "http:/host/x"): wget takes the whole text as a host name.
 *   - An empty host ("http:///host/x"): wget connects to "" ("bad address").
 *   - user:password@: wget sends it as Basic authorization; the config would bake the password
 *     into the medium, and the preboot prints URLs on its console. Refused, as for proxy:.
 *   - "#fragment": wget sends it to the server as part of the path.
 *   - "http://host?q" (a query without a path): wget sends "GET /q", losing the "?"; written
 *     here as "http://host/?q", which is what the URL means.
 *   - Non-ASCII: wget sends the bytes raw and resolves names as given, with no IDNA: a name
 *     must be written in its ASCII (xn--) form, and a path percent-encoded.
 *   - A number-like host that is not a plain dotted quad ("127.1", "0x7f.0.0.1", "010.0.0.1"):
 *     inet_aton() reads it as an address (010 is octal 8), which is never what was meant.
 *   - Quotes, backslashes, spaces, < > [ ] { } | ^ ` outside an IPv6 literal: not URL characters;
 *     percent-encode them.
 */
import { isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';

export type UrlCheck = { ok: true; url: string } | { ok: false; message: string };

/** Longer URLs are refused: every URL is a line of a data file and of console messages. */
export const MAX_URL_LENGTH = 4096;

/** Dotted-quad IPv4 without leading zeros (BusyBox and the kernel read "010" as octal or refuse it). */
export const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

const EXAMPLE = 'http://10.0.2.2:8080/linux';
// RFC 3986 pchar without "'" (the quote is refused everywhere a value could meet a shell).
const PATH_CHAR_RE = /[A-Za-z0-9\-._~!$&()*+,;=:@/]/;
const LABEL_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE_RE = /[\u0000-\u0020\u007f-\u009f\s]/;

const fail = (message: string): UrlCheck => ({ ok: false, message });

/** Percent-encodes what cannot stand in a path or query: the suggestion in a message. */
function encodeRest(rest: string): string {
  let out = '';
  for (const ch of rest) {
    if (PATH_CHAR_RE.test(ch) || ch === '?' || ch === '%') out += ch;
    else out += [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

/**
 * The path-and-query part of a URL (from its first "/" or "?"), or a mirror path: undefined when
 * it is fine, else what is wrong and what to write; `suggest` turns a repaired part into the
 * whole value to write.
 */
export function pathProblem(rest: string, suggest: (fixed: string) => string): string | undefined {
  if (rest.includes('#')) {
    const fixed = rest.slice(0, rest.indexOf('#'));
    return `must not contain "#": BusyBox wget would send the fragment to the server as part of the path; write ${suggest(fixed)}`;
  }
  let inQuery = false;
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i]!;
    if (ch === '?') {
      inQuery = true;
      continue;
    }
    if (ch === '%') {
      if (!/^[0-9A-Fa-f]{2}$/.test(rest.slice(i + 1, i + 3))) {
        return `has a "%" that is not followed by two hexadecimal digits: write %25 for a "%" itself`;
      }
      i += 2;
      continue;
    }
    if (PATH_CHAR_RE.test(ch)) continue;
    const what = ch.charCodeAt(0) > 0x7e ? `the non-ASCII character "${String.fromCodePoint(rest.codePointAt(i)!)}"` : `"${ch}"`;
    const where = inQuery ? 'query' : 'path';
    return `has ${what} in its ${where}, which is not a URL character: percent-encode it, e.g. ${suggest(encodeRest(rest))}`;
  }
  return undefined;
}

function hostProblem(host: string, rebuild: (host: string) => string): string | undefined {
  if (host === '') return `has no host: write the server's name or address after "//", e.g. ${EXAMPLE}`;
  if (host.startsWith('[')) {
    const inner = host.slice(1, -1);
    if (!host.endsWith(']') || !isIPv6(inner)) return `has "${host}" as its host, which is not an IPv6 address in brackets such as [fd00::2]`;
    if (inner.includes('%')) return 'has an IPv6 zone ("%...") in its host: the preboot cannot use one; write the address alone';
    return undefined;
  }
  if (/[^\x21-\x7e]/.test(host)) {
    const ascii = domainToASCII(host);
    return ascii
      ? `has the internationalised host name "${host}": the preboot resolves names as written, so write its ASCII form: ${rebuild(ascii)}`
      : `has "${host}" as its host, which is not a host name: use letters, digits, "-" and "."`;
  }
  const labels = host.endsWith('.') ? host.slice(0, -1).split('.') : host.split('.');
  const numeric = (l: string) => /^(0x[0-9a-f]*|[0-9]+)$/i.test(l);
  if (numeric(labels.at(-1) ?? '')) {
    if (IPV4_RE.test(host)) return undefined;
    if (labels.every(numeric)) {
      return `has "${host}" as its host, which is not an IPv4 address written the plain way: write four numbers 0-255 without leading zeros, e.g. 10.0.2.2 (BusyBox's inet_aton() reads "127.1" as 127.0.0.1 and "010" as octal 8)`;
    }
    return `has "${host}" as its host: a host name cannot end in a number (it would be taken for an IPv4 address)`;
  }
  if (host.length > 253) return 'has a host name longer than 253 characters';
  const bad = labels.find((l) => !LABEL_RE.test(l));
  if (bad !== undefined) {
    return bad === ''
      ? `has an empty part ("..") in its host name "${host}"`
      : `has "${host}" as its host, which is not a host name: each dot-separated part has 1-63 letters, digits, "-" or "_", and does not start or end with "-"`;
  }
  return undefined;
}

/** Checks (and normalises) one http:// or https:// URL by the grammar above. */
export function checkFetchUrl(s: string): UrlCheck {
  if (s.length > MAX_URL_LENGTH) return fail(`is longer than ${MAX_URL_LENGTH} characters`);
  if (CONTROL_OR_SPACE_RE.test(s)) return fail('must not contain spaces or control characters: percent-encode them (a space is %20)');
  if (/["'`\\]/.test(s)) return fail('must not contain quotes or backslashes: percent-encode them (" is %22, \' is %27, ` is %60, \\ is %5C)');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(\/*)(.*)$/s.exec(s);
  if (!m) return fail(`"${s}" is not a URL: write an absolute http:// or https:// URL, e.g. ${EXAMPLE}`);
  const [, rawScheme = '', slashes = '', afterSlashes = ''] = m;
  const scheme = rawScheme.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return fail(`scheme "${rawScheme}" is not supported: write an http:// or https:// URL`);
  if (slashes !== '//') {
    const host = afterSlashes.split(/[/?#]/)[0] ?? '';
    return host === ''
      ? fail(`has no host: write the server's name or address after "${scheme}://", e.g. ${EXAMPLE}`)
      : fail(`must have exactly "//" after "${rawScheme}:": write ${scheme}://${afterSlashes}`);
  }
  const end = afterSlashes.search(/[/?#]/);
  const authority = end < 0 ? afterSlashes : afterSlashes.slice(0, end);
  let rest = end < 0 ? '' : afterSlashes.slice(end);
  if (authority.includes('@')) {
    return fail(`must not contain a user name or password ("${authority.slice(0, authority.lastIndexOf('@') + 1)}"): they would be baked into the boot medium and printed on its console; serve the files without a login`);
  }
  if (authority.startsWith('[') && !authority.includes(']')) return fail(`has "[" without "]" in its host: an IPv6 address is written in brackets, e.g. http://[fd00::2]:8080/linux`);
  const portMatch = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority);
  const host = portMatch?.[1] ?? authority;
  const port = portMatch?.[2];
  const rebuild = (h: string) => `${scheme}://${h}${port === undefined ? '' : `:${port}`}${rest}`;
  const hp = hostProblem(host, rebuild);
  if (hp) return fail(hp);
  if (port !== undefined && !/^[1-9][0-9]{0,4}$/.test(port)) {
    return fail(port === '' ? 'has ":" after the host but no port number: write the port (e.g. :8080) or leave out the ":"' : `has "${port}" as its port: write a number from 1 to 65535 without leading zeros`);
  }
  if (port !== undefined && Number(port) > 65535) return fail(`has port ${port}: ports go up to 65535`);
  if (rest.startsWith('?')) rest = `/${rest}`;
  const authorityText = `${host}${port === undefined ? '' : `:${port}`}`;
  const pp = pathProblem(rest, (fixed) => `${scheme}://${authorityText}${fixed}`);
  if (pp) return fail(pp);
  return { ok: true, url: `${scheme}://${authorityText}${rest}` };
}
