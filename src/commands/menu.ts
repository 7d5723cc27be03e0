/** `inetboot menu`: print the grub.cfg the config gives. */
import { loadConfig } from '../config/load.js';
import { renderMenu } from '../pipeline/menu.js';

export async function menuCommand(opts: { config: string }, out: (s: string) => void): Promise<void> {
  const { config } = await loadConfig(opts.config);
  out(renderMenu(config));
}
