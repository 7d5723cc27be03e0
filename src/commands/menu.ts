/** `inetboot menu`: print the grub.cfg the config gives. */
import { loadConfig, requireEntries } from '../config/load.js';
import { renderMenu } from '../pipeline/menu.js';

export async function menuCommand(opts: { config: string }, out: (s: string) => void): Promise<void> {
  const loaded = await loadConfig(opts.config);
  requireEntries(loaded);
  out(renderMenu(loaded.config));
}
