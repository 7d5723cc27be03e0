/** `inetboot set-default ID`: make an entry the one booted after the menu's timeout. */
import { setDefault } from '../config/edit.js';
import { updateConfig } from '../config/update.js';
import type { CommandContext } from './context.js';

export async function setDefaultCommand(id: string, opts: { config: string }, ctx: CommandContext): Promise<void> {
  const { before } = await updateConfig(opts.config, (loaded) => setDefault(loaded, id), { logger: ctx.log, signal: ctx.signal });
  ctx.log.info(before.config.default === id ? `"${id}" was the default entry already` : `the default entry of ${opts.config} is now "${id}"`);
}
