/** `inetboot remove-entry ID`: remove a menu entry, keeping the rest of the file as it was. */
import { removeEntry } from '../config/edit.js';
import { parseConfig } from '../config/load.js';
import { updateConfig } from '../config/update.js';
import type { CommandContext } from './context.js';

export async function removeEntryCommand(id: string, opts: { config: string }, ctx: CommandContext): Promise<void> {
  const { before, text } = await updateConfig(opts.config, (loaded) => removeEntry(loaded, id), { logger: ctx.log, signal: ctx.signal });
  ctx.log.info(`removed entry "${id}" from ${opts.config}`);
  if (before.config.default === id) {
    const next = parseConfig(text, opts.config).config.default;
    ctx.log.info(next === undefined ? 'the config has no default entry now' : `the default entry is now "${next}"`);
  }
}
