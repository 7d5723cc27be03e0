/**
 * The schema of inetboot.yaml. Types are inferred from it, never written twice.
 * Messages are written for people: each says what to write instead.
 * Cross-field rules (unique ids, default exists) live in rules.ts.
 */
import { z } from 'zod';
import { firstDeceptive } from './text.js';
import { checkFetchUrl, IPV4_RE, pathProblem } from './url.js';

export const ENTRY_ID_RE = /^[a-z0-9][a-z0-9._-]*$/;
export const SHA256_RE = /^[0-9a-fA-F]{64}$/;
/** The x86 kernel command line holds 2048 bytes including the final NUL. */
export const MAX_CMDLINE = 2047;

// Control characters (C0, DEL, C1) are never allowed in any string that reaches GRUB, shell or a kernel.
// eslint-disable-next-line no-control-regex
export const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * An http:// or https:// URL as the preboot's BusyBox wget fetches it: the grammar, and why each
 * refusal, are in url.ts. The scheme is written lower-case; what is refused says what to write.
 */
export const urlSchema = z.string({ error: 'must be a URL written as a string, e.g. http://10.0.2.2:8080/linux' }).transform((s, ctx) => {
  const r = checkFetchUrl(s);
  if (r.ok) return r.url;
  ctx.addIssue({ code: 'custom', message: r.message });
  return z.NEVER;
});

export const sha256Schema = z
  .string({ error: 'must be 64 hexadecimal characters written as a quoted string, e.g. sha256: "9f86d0..."' })
  .regex(SHA256_RE, { message: 'must be exactly 64 hexadecimal characters (the output of sha256sum)' })
  .transform((s) => s.toLowerCase());

/** The most sources one artifact or mirror group may list: the preboot probes them all at once. */
export const MAX_SOURCES = 16;
export const MIRROR_NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;

const sizeSchema = z
  .number({ error: 'must be the file\'s size in bytes, a whole number, e.g. size: 8123456' })
  .int({ message: 'must be a whole number of bytes' })
  .positive({ message: 'must be more than 0 bytes' })
  .max(Number.MAX_SAFE_INTEGER, { message: 'is too large' });

export const mirrorNameSchema = z
  .string({ error: 'must be the name of a group under mirrors:, e.g. mirror: debian' })
  .regex(MIRROR_NAME_RE, { message: 'must match [a-z0-9][a-z0-9._-]*: lower-case letters, digits, ".", "_" and "-", starting with a letter or digit' })
  .max(64, { message: 'is longer than 64 characters' });

/** A path inside a mirror group: appended to each of the group's base URLs after a "/". */
export const mirrorPathSchema = z.string({ error: 'must be a path inside the mirror group, e.g. path: dists/bookworm/main/installer-amd64/current/images/netboot/debian-installer/amd64/linux' }).superRefine((s, ctx) => {
  const problem =
    s === ''
      ? 'must not be empty'
      : CONTROL_RE.test(s) || /\s/.test(s)
        ? 'must not contain spaces or control characters: percent-encode them (a space is %20)'
        : /["'`\\]/.test(s)
          ? 'must not contain quotes or backslashes: percent-encode them'
          : s.startsWith('/')
            ? 'must not start with "/": it is relative to each base URL of the group (write dists/..., not /dists/...)'
            : s.split(/[/?]/).includes('..')
              ? 'must not contain ".." segments: write the path inside the group'
              : pathProblem(`/${s}`, (fixed) => `path: ${fixed.slice(1)}`);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * `kernel: URL`, or a mapping with exactly one source form, plus optional checks:
 *   {url: URL}                        one source
 *   {urls: [URL, ...]}                several sources of the same file (the preboot measures them)
 *   {mirror: GROUP, path: PATH}       PATH inside each base URL of the top-level mirrors: GROUP
 *   sha256: HEX, size: BYTES          what every source must deliver
 * Normalised: a bare URL becomes {url}; the mapping is kept as written (artifactUrls() expands it).
 */
const artifactMapSchema = z
  .strictObject({
    url: urlSchema.optional(),
    urls: z
      .array(urlSchema, { error: 'must be a list of URLs, each on its own "- " line' })
      .superRefine(countCheck('URLs'))
      .optional(),
    mirror: mirrorNameSchema.optional(),
    path: mirrorPathSchema.optional(),
    sha256: sha256Schema.optional(),
    size: sizeSchema.optional(),
  })
  .superRefine((a, ctx) => {
    const forms = [a.url !== undefined && 'url', a.urls !== undefined && 'urls', (a.mirror !== undefined || a.path !== undefined) && 'mirror'].filter(Boolean);
    if (forms.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'names no source: write url: URL, urls: [URL, ...], or mirror: GROUP with path: PATH' });
    } else if (forms.length > 1) {
      ctx.addIssue({ code: 'custom', message: `has ${forms.join(' and ')}: write only one of url, urls, or mirror with path (put every URL under urls:)` });
    } else if (a.mirror !== undefined && a.path === undefined) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: `is missing: mirror: needs the path of the file inside group "${a.mirror}", e.g. path: dists/stable/linux` });
    } else if (a.path !== undefined && a.mirror === undefined) {
      ctx.addIssue({ code: 'custom', path: ['mirror'], message: 'is missing: path: needs the name of a group under mirrors:, e.g. mirror: debian' });
    }
    const dup = duplicate(a.urls ?? []);
    if (dup !== undefined) ctx.addIssue({ code: 'custom', path: ['urls', dup.index], message: `repeats ${dup.value} (urls[${dup.first}]): list each URL once` });
  });

export const artifactSchema = z
  .union([urlSchema, artifactMapSchema], {
    error: 'must be a URL, or a mapping {url: URL, sha256: HEX} (or urls: [URL, ...], or mirror: GROUP with path: PATH)',
  })
  .transform((a) => (typeof a === 'string' ? { url: a } : a));

/** A top-level `mirrors:` group: base URLs serving the same tree. */
export const mirrorGroupSchema = z
  .array(
    urlSchema.refine((s) => !/[?#]/.test(s), { message: 'must not contain "?" or "#": a base URL is followed by "/" and the path' }),
    { error: 'must be a list of base URLs, each on its own "- " line, e.g. - http://10.0.2.2:8080/debian' },
  )
  .superRefine(countCheck('base URLs'))
  .superRefine((urls, ctx) => {
    const dup = duplicate(urls.map((u) => u.replace(/\/+$/, '')));
    if (dup !== undefined) ctx.addIssue({ code: 'custom', path: [dup.index], message: `repeats ${dup.value} ([${dup.first}]): list each base URL once` });
  });

// Group names are checked by a refinement, not as the record's key schema: zod reports a bad
// key with the record's own message, which would hide what is wrong with the name.
export const mirrorsSchema = z
  .record(z.string(), mirrorGroupSchema, {
    error: 'must be a mapping of group names to lists of base URLs, e.g. mirrors: {debian: [http://10.0.2.2:8080/debian]}',
  })
  .superRefine((groups, ctx) => {
    for (const name of Object.keys(groups)) {
      const r = mirrorNameSchema.safeParse(name);
      if (!r.success) ctx.addIssue({ code: 'custom', path: [name], message: r.error.issues[0]?.message ?? 'is not a valid group name' });
    }
  });

// zod 4 runs length checks even on a value of the wrong type (a string has a length), which
// would add a second, misleading complaint to "is a string: must be a list".
function countCheck(what: string) {
  return (list: unknown[], ctx: z.RefinementCtx) => {
    if (!Array.isArray(list)) return;
    if (list.length === 0) ctx.addIssue({ code: 'custom', message: `must list at least one ${what === 'URLs' ? 'URL' : 'base URL'}` });
    else if (list.length > MAX_SOURCES) ctx.addIssue({ code: 'custom', message: `lists more than ${MAX_SOURCES} ${what}: keep the ${MAX_SOURCES} best` });
  };
}

function duplicate(values: readonly string[]): { index: number; first: number; value: string } | undefined {
  const seen = new Map<string, number>();
  for (const [index, value] of values.entries()) {
    const first = seen.get(value);
    if (first !== undefined) return { index, first, value };
    seen.set(value, index);
  }
  return undefined;
}

/** One base URL of a group joined with a path: exactly one "/" between them. */
export function joinMirror(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path}`;
}

/**
 * Every URL an artifact may be fetched from, in the order written. A mirror reference expands
 * to its group's base URLs. A group that does not exist gives no URL: rules.ts reports it with
 * the file and line, and other rules that list URLs run beside it, so this must not throw.
 */
export function artifactUrls(a: Artifact, mirrors: Config['mirrors']): string[] {
  if (a.url !== undefined) return [a.url];
  if (a.urls !== undefined) return [...a.urls];
  if (a.mirror !== undefined && a.path !== undefined) {
    const path = a.path;
    return (mirrors?.[a.mirror] ?? []).map((base) => joinMirror(base, path));
  }
  throw new Error('internal: artifact without a source (the schema should have refused it)');
}

/** A short human description of where an artifact comes from (list, messages). */
export function describeSources(a: Artifact): string {
  if (a.url !== undefined) return a.url;
  if (a.urls !== undefined) return a.urls.length === 1 ? (a.urls[0] ?? '') : `${a.urls[0] ?? ''} (+${a.urls.length - 1} more)`;
  return `mirror ${a.mirror ?? '?'}: ${a.path ?? '?'}`;
}

export const titleSchema = z
  .string({ error: 'must be a string, e.g. title: Debian 12 installer' })
  .min(1, { message: 'must not be empty' })
  .max(200, { message: 'is longer than 200 characters: shorten it' })
  .refine((s) => !CONTROL_RE.test(s), { message: 'must not contain control characters (tabs, newlines)' })
  .superRefine((s, ctx) => {
    const bad = firstDeceptive(s);
    if (bad) ctx.addIssue({ code: 'custom', message: `must not contain ${bad}: invisible characters and direction overrides let a menu line show something other than what it is` });
  })
  .refine((s) => !s.startsWith('-'), { message: 'must not start with "-" (GRUB would read it as an option of menuentry)' })
  .refine((s) => s.trim() === s, { message: 'must not start or end with spaces' });

export const appendSchema = z
  .string({ error: 'must be a string of kernel parameters, e.g. append: console=ttyS0 quiet' })
  .refine((s) => !CONTROL_RE.test(s), { message: 'must not contain control characters (tabs, newlines): separate parameters with spaces' })
  .refine((s) => /^[\x20-\x7e]*$/.test(s), { message: 'must be printable ASCII: the kernel command line has no encoding' })
  .refine((s) => (s.match(/"/g)?.length ?? 0) % 2 === 0, {
    message: 'has an unbalanced double quote: the kernel groups words only between pairs of "',
  })
  .refine((s) => Buffer.byteLength(s) <= MAX_CMDLINE, { message: `is longer than ${MAX_CMDLINE} bytes, the x86 kernel command-line limit` });

export const entryIdSchema = z
  .string({ error: 'must be a string, e.g. id: debian' })
  .regex(ENTRY_ID_RE, { message: 'must match [a-z0-9][a-z0-9._-]*: lower-case letters, digits, ".", "_" and "-", starting with a letter or digit' })
  .max(64, { message: 'is longer than 64 characters' });

/**
 * An entry is one of three kinds (checked in rules.ts, which can name the lines):
 *   kernel (+ initrd, append), optionally under a Xen hypervisor (hypervisor, hypervisor_append);
 *   iscript: a script the preboot downloads and runs (see README, "Entry kinds");
 *   root: a root published with `inetboot publish`, mounted lazily over HTTP;
 *   shell: true, a BusyBox shell in the preboot with the network up.
 */
export { IPV4_RE };

const ipv4Schema = (example: string) =>
  z.string({ error: `must be an IPv4 address written as a string, e.g. ${example}` }).regex(IPV4_RE, { message: `must be an IPv4 address such as ${example}` });

/**
 * `network:` how the preboot configures its network: `dhcp` (the default: DHCP on every
 * interface in turn) or a static IPv4 setting. `ip=` typed at GRUB overrides it (README, "Network").
 */
export const staticNetworkSchema = z.strictObject({
  address: z
    .string({ error: 'must be an IPv4 address with its prefix length, e.g. address: 10.0.2.15/24' })
    .superRefine((s, ctx) => {
      const [ip, prefix, extra] = s.split('/');
      if (extra !== undefined || prefix === undefined || !IPV4_RE.test(ip ?? '') || !/^(3[0-2]|[12]?\d)$/.test(prefix)) {
        ctx.addIssue({ code: 'custom', message: `"${s}" is not an IPv4 address with a prefix length: write e.g. address: 10.0.2.15/24` });
      }
    }),
  gateway: ipv4Schema('gateway: 10.0.2.2').optional(),
  dns: z
    .array(ipv4Schema('10.0.2.3'), { error: 'must be a list of IPv4 addresses of name servers, e.g. dns: [10.0.2.3]' })
    // Not .max(): zod would also measure a string given instead of a list (see countCheck).
    .superRefine((list, ctx) => {
      if (Array.isArray(list) && list.length > 3) ctx.addIssue({ code: 'custom', message: 'lists more than 3 name servers: the resolver reads only the first 3' });
    })
    .optional(),
  interface: z
    .string({ error: 'must be an interface name written as a string, e.g. interface: eth0' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/, { message: 'must be a Linux interface name (letters, digits, ".", "_", "-"; at most 15 characters), e.g. eth0' })
    .optional(),
});

const NETWORK_HINT = 'must be dhcp, or a mapping {address: 10.0.2.15/24, gateway: 10.0.2.2, dns: [10.0.2.3]}';
// A string schema, not z.literal: for a mapping, the loader shows the complaint of the branch
// whose type fits (invalid_type at the root rules a branch out; a literal reports invalid_value).
export const networkSchema = z.union([z.string({ error: NETWORK_HINT }).refine((s) => s === 'dhcp', { message: NETWORK_HINT }).transform(() => 'dhcp' as const), staticNetworkSchema], {
  error: NETWORK_HINT,
});

/** `proxy:` the HTTP proxy every http:// download of the preboot goes through: http://HOST:PORT. */
export const proxySchema = urlSchema.superRefine((s, ctx) => {
  // urlSchema has checked the grammar and refused a user or password (url.ts).
  const m = /^(https?):\/\/([^/?]+)(.*)$/.exec(s);
  if (m?.[1] !== 'http') ctx.addIssue({ code: 'custom', message: 'must be an http:// URL of the proxy, e.g. proxy: http://10.0.2.2:3128 (BusyBox wget talks to proxies in plain HTTP)' });
  else if (m[3] !== '' && m[3] !== '/') ctx.addIssue({ code: 'custom', message: `must be only scheme, host and port, e.g. proxy: http://10.0.2.2:3128 (write http://${m[2]})` });
});

/** `tls:` how the preboot checks HTTPS servers. */
export const tlsSchema = z.strictObject({
  ca_bundle: z
    .string({ error: 'must be the path of a PEM file of CA certificates, e.g. ca_bundle: /etc/inetboot/my-ca.pem' })
    .refine((s) => s.startsWith('/') && !CONTROL_RE.test(s), { message: 'must be an absolute path of a PEM file of CA certificates, e.g. ca_bundle: /etc/inetboot/my-ca.pem' })
    .optional(),
});

export const entrySchema = z.strictObject({
  id: entryIdSchema,
  title: titleSchema,
  kernel: artifactSchema.optional(),
  initrd: artifactSchema.optional(),
  append: appendSchema.default(''),
  /** Absent: true. false: this entry's https:// downloads do not check the server's certificate (a loud warning is printed). */
  tls_verify: z.boolean({ error: "must be true or false (false: do not check the HTTPS certificate of this entry's servers)" }).optional(),
  hypervisor: artifactSchema.optional(),
  hypervisor_append: appendSchema.optional(),
  iscript: artifactSchema.optional(),
  /** A root published with `inetboot publish`: its manifest, root.json (README, "Publishing a root"). */
  root: artifactSchema.optional(),
  /** true: the root's manifest is not pinned (no sha256); the preboot warns loudly at every boot. */
  root_unverified: z.literal(true, { error: 'must be true (boot the root without checking its manifest), or leave the key out' }).optional(),
  shell: z.literal(true, { error: 'must be true (a shell entry), or leave the key out' }).optional(),
});

/** Who makes the preboot kernel and initramfs; README "Preboot backends". */
export const PREBOOT_BACKENDS = ['debian', 'kernel-source', 'buildroot'] as const;

const hostPathSchema = (example: string) =>
  z
    .string({ error: `must be a path on the build machine, e.g. ${example}` })
    .min(1, { message: `must not be empty: write a path, e.g. ${example}` });

export const prebootSchema = z.strictObject({
  backend: z
    .enum(PREBOOT_BACKENDS, { error: `must be one of ${PREBOOT_BACKENDS.join(', ')} (see "Preboot backends" in the README)` })
    .default('debian'),
  kernel_source: hostPathSchema('/usr/src/linux-source-6.1.tar.xz').optional(),
  buildroot_dir: hostPathSchema('/home/me/buildroot-2024.02').optional(),
});

export const configSchema = z.strictObject({
  timeout: z
    .number({ error: 'must be a whole number of seconds, e.g. timeout: 5' })
    .int({ message: 'must be a whole number of seconds' })
    .min(-1, { message: 'must be -1 (wait for a choice) or more' })
    .max(86400, { message: 'must be at most 86400 seconds' })
    .default(5),
  default: entryIdSchema.optional(),
  serial: z.boolean({ error: 'must be true or false' }).default(true),
  mirrors: mirrorsSchema.optional(),
  /** Absent: DHCP. */
  network: networkSchema.optional(),
  proxy: proxySchema.optional(),
  pass_network: z.boolean({ error: "must be true or false (true: the target kernel gets the preboot's address as ip=...)" }).optional(),
  tls: tlsSchema.optional(),
  preboot: prebootSchema.optional(),
  entries: z.array(entrySchema, { error: 'must be a list of entries, each starting with "- id: ..."' }).default([]),
});

export type Artifact = z.output<typeof artifactSchema>;
/** Every entry key that is an artifact (a file the preboot downloads), in the config's order. */
export const ARTIFACT_FIELDS = ['kernel', 'initrd', 'hypervisor', 'iscript', 'root'] as const;
export type Entry = z.output<typeof entrySchema>;
export type EntryKind = 'kernel' | 'xen' | 'iscript' | 'root' | 'shell';

/** What booting the entry does; rules.ts guarantees exactly one of kernel, iscript, root, shell. */
export function entryKind(e: Pick<Entry, 'kernel' | 'hypervisor' | 'iscript' | 'root' | 'shell'>): EntryKind {
  if (e.shell) return 'shell';
  if (e.iscript) return 'iscript';
  if (e.root) return 'root';
  return e.hypervisor ? 'xen' : 'kernel';
}
export type Config = z.output<typeof configSchema>;
/** The config as written (before defaults and normalisation). */
export type ConfigInput = z.input<typeof configSchema>;
