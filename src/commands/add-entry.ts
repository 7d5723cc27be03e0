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
  kernel: string;
  kernelSha256?: string;
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
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  const artifact = (url: string, sha256: string | undefined) => (sha256 === undefined ? { url } : { url, sha256 });
  return {
    id: v.id ?? opts.id,
    title: v.title ?? opts.title,
    kernel: artifact(v.kernel ?? opts.kernel, v.kernelSha256),
    ...(v.initrd !== undefined && { initrd: artifact(v.initrd, v.initrdSha256) }),
    ...(v.append !== undefined && { append: v.append }),
  };
}
