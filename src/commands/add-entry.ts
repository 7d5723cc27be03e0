/** `inetboot add-entry`: append a menu entry to the config, keeping its comments and layout. */
import type { z } from 'zod';
import { addEntry, type NewEntry } from '../config/edit.js';
import { appendSchema, entryIdSchema, sha256Schema, titleSchema, urlSchema } from '../config/schema.js';
import { updateConfig } from '../config/update.js';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';

export interface AddEntryOptions {
  config: string;
  id: string;
  title: string;
  kernel?: string;
  kernelSha256?: string;
  root?: string;
  rootSha256?: string;
  initrd?: string;
  initrdSha256?: string;
  append?: string;
  default?: boolean;
}

type FlagKey = Exclude<keyof AddEntryOptions, 'config' | 'default'>;

// The same schemas as the config file, so a flag is accepted exactly when the key would be.
const FLAGS: { key: FlagKey; flag: string; schema: z.ZodType<string, string> }[] = [
  { key: 'id', flag: '--id', schema: entryIdSchema },
  { key: 'title', flag: '--title', schema: titleSchema },
  { key: 'kernel', flag: '--kernel', schema: urlSchema },
  { key: 'kernelSha256', flag: '--kernel-sha256', schema: sha256Schema },
  { key: 'initrd', flag: '--initrd', schema: urlSchema },
  { key: 'initrdSha256', flag: '--initrd-sha256', schema: sha256Schema },
  { key: 'root', flag: '--root', schema: urlSchema },
  { key: 'rootSha256', flag: '--root-sha256', schema: sha256Schema },
  { key: 'append', flag: '--append', schema: appendSchema },
];

export async function addEntryCommand(opts: AddEntryOptions, ctx: CommandContext): Promise<void> {
  const entry = entryFromFlags(opts);
  await updateConfig(opts.config, (loaded) => addEntry(loaded, entry, { makeDefault: opts.default }), { logger: ctx.log, signal: ctx.signal });
  ctx.log.info(`added entry "${entry.id}" to ${opts.config}${opts.default ? ' as the default' : ''}`);
}

export function entryFromFlags(opts: AddEntryOptions): NewEntry {
  const problems: string[] = [];
  const v: Partial<Record<FlagKey, string>> = {};
  for (const { key, flag, schema } of FLAGS) {
    const raw = opts[key];
    if (raw === undefined) continue;
    const r = schema.safeParse(raw);
    if (r.success) v[key] = r.data;
    else problems.push(`${flag}: ${r.error.issues[0]?.message ?? 'is not valid'}`);
  }
  if (opts.initrdSha256 !== undefined && opts.initrd === undefined) problems.push('--initrd-sha256: needs --initrd with the URL it belongs to');
  if (opts.kernelSha256 !== undefined && opts.kernel === undefined) problems.push('--kernel-sha256: needs --kernel with the URL it belongs to');
  if (opts.kernel === undefined && opts.root === undefined) problems.push('give --kernel URL (a kernel to kexec) or --root URL (the root.json of a root published with inetboot publish)');
  if (opts.kernel !== undefined && opts.root !== undefined) problems.push('--root: cannot be combined with --kernel: a published root brings its own kernel; add two entries');
  if (opts.root !== undefined && opts.initrd !== undefined) problems.push('--initrd: cannot be combined with --root: a published root brings its own miniroot');
  if (opts.root !== undefined && opts.rootSha256 === undefined) problems.push('--root: needs --root-sha256 HEX, the sha256 inetboot publish printed (an unverified root is written by hand: root_unverified: true)');
  if (opts.rootSha256 !== undefined && opts.root === undefined) problems.push('--root-sha256: needs --root with the URL it belongs to');
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  const artifact = (url: string, sha256: string | undefined) => (sha256 === undefined ? { url } : { url, sha256 });
  const kernel = v.kernel ?? opts.kernel;
  const root = v.root ?? opts.root;
  return {
    id: v.id ?? opts.id,
    title: v.title ?? opts.title,
    ...(kernel !== undefined && { kernel: artifact(kernel, v.kernelSha256) }),
    ...(root !== undefined && { root: artifact(root, v.rootSha256) }),
    ...(v.initrd !== undefined && { initrd: artifact(v.initrd, v.initrdSha256) }),
    ...(v.append !== undefined && { append: v.append }),
  };
}
