/**
 * Editing a config file: under its lock (files/lock.ts), read it, let `change` compute the new
 * text from what was read, and replace the file (files/replace.ts). Parallel edits therefore
 * never lose one another, and a failed or interrupted edit leaves the file as it was.
 */
import { checkOutputFile } from '../files/output.js';
import { withFileLock } from '../files/lock.js';
import { writeFileReplacing } from '../files/replace.js';
import type { Logger } from '../log.js';
import { loadConfig, type LoadedConfig } from './load.js';

export interface EditContext {
  logger?: Logger;
  signal?: AbortSignal;
}

export async function updateConfig(file: string, change: (loaded: LoadedConfig) => string, ctx: EditContext = {}): Promise<{ before: LoadedConfig; text: string }> {
  checkOutputFile(file, 'the config', 'inetboot.yaml');
  return withFileLock(
    file,
    async () => {
      const before = await loadConfig(file);
      const text = change(before);
      await writeFileReplacing(file, text, { signal: ctx.signal });
      return { before, text };
    },
    ctx,
  );
}
