/** `inetboot remove-entry ID`: remove a menu entry, keeping the rest of the file as it was. */
import { writeFileAtomic } from '../config/atomic.js';
import { removeEntry } from '../config/edit.js';
import { loadConfig, parseConfig } from '../config/load.js';
import type { Logger } from '../log.js';

export async function removeEntryCommand(id: string, opts: { config: string }, log: Logger): Promise<void> {
  const loaded = await loadConfig(opts.config);
  const text = removeEntry(loaded, id);
  await writeFileAtomic(opts.config, text);
  log.info(`removed entry "${id}" from ${opts.config}`);
  if (loaded.config.default === id) {
    const next = parseConfig(text, opts.config).config.default;
    log.info(next === undefined ? 'the config has no default entry now' : `the default entry is now "${next}"`);
  }
}
