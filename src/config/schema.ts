/**
 * The schema of inetboot.yaml. Types are inferred from it, never written twice.
 * Messages are written for people: each says what to write instead.
 * Cross-field rules (unique ids, default exists) live in rules.ts.
 */
import { z } from 'zod';

export const ENTRY_ID_RE = /^[a-z0-9][a-z0-9._-]*$/;
export const SHA256_RE = /^[0-9a-fA-F]{64}$/;
/** The x86 kernel command line holds 2048 bytes including the final NUL. */
export const MAX_CMDLINE = 2047;

// Control characters (C0, DEL, C1) are never allowed in any string that reaches GRUB, shell or a kernel.
// eslint-disable-next-line no-control-regex
export const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

export const urlSchema = z.string({ error: 'must be a URL written as a string, e.g. http://10.0.2.2:8080/linux' }).superRefine((s, ctx) => {
  if (CONTROL_RE.test(s) || /\s/.test(s)) {
    ctx.addIssue({ code: 'custom', message: 'must not contain spaces or control characters: percent-encode them (a space is %20)' });
    return;
  }
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a URL: write an absolute http:// or https:// URL, e.g. http://10.0.2.2:8080/linux` });
    return;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `scheme "${u.protocol.replace(/:$/, '')}" is not supported: write an http:// or https:// URL` });
  } else if (!u.hostname) {
    ctx.addIssue({ code: 'custom', message: 'has no host: write an http:// or https:// URL with a host' });
  } else if (/["'`\\]/.test(s)) {
    ctx.addIssue({ code: 'custom', message: 'must not contain quotes or backslashes: percent-encode them' });
  }
});

export const sha256Schema = z
  .string({ error: 'must be 64 hexadecimal characters written as a quoted string, e.g. sha256: "9f86d0..."' })
  .regex(SHA256_RE, { message: 'must be exactly 64 hexadecimal characters (the output of sha256sum)' })
  .transform((s) => s.toLowerCase());

/** `kernel: URL` or `kernel: {url: URL, sha256: HEX}`; normalised to the object form. */
export const artifactSchema = z
  .union([urlSchema, z.strictObject({ url: urlSchema, sha256: sha256Schema.optional() })], {
    error: 'must be a URL, or a mapping {url: URL, sha256: HEX}',
  })
  .transform((a) => (typeof a === 'string' ? { url: a } : a));

export const titleSchema = z
  .string({ error: 'must be a string, e.g. title: Debian 12 installer' })
  .min(1, { message: 'must not be empty' })
  .max(200, { message: 'is longer than 200 characters: shorten it' })
  .refine((s) => !CONTROL_RE.test(s), { message: 'must not contain control characters (tabs, newlines)' })
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

export const entrySchema = z.strictObject({
  id: entryIdSchema,
  title: titleSchema,
  kernel: artifactSchema,
  initrd: artifactSchema.optional(),
  append: appendSchema.default(''),
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
  entries: z.array(entrySchema, { error: 'must be a list of entries, each starting with "- id: ..."' }).default([]),
});

export type Artifact = z.output<typeof artifactSchema>;
export type Entry = z.output<typeof entrySchema>;
export type Config = z.output<typeof configSchema>;
/** The config as written (before defaults and normalisation). */
export type ConfigInput = z.input<typeof configSchema>;
