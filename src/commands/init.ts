/** `inetboot init`: write the commented example config. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { withFileLock } from '../files/lock.js';
import { checkOutputFile, resolveTarget } from '../files/output.js';
import { writeFileReplacing } from '../files/replace.js';
import { EXAMPLE_CONFIG } from '../paths.js';
import type { CommandContext } from './context.js';

export async function initCommand(opts: { config: string; force?: boolean }, ctx: CommandContext): Promise<void> {
  checkOutputFile(opts.config, 'the config', 'inetboot.yaml');
  const example = await readFile(EXAMPLE_CONFIG, 'utf8');
  // Under the config's lock: an edit running at the same time is not overwritten half-way.
  await withFileLock(
    opts.config,
    async () => {
      if (existsSync(resolveTarget(opts.config)) && !opts.force) throw new UsageError(`${opts.config} exists already: use --force to overwrite it`);
      await writeFileReplacing(opts.config, example, { signal: ctx.signal });
    },
    { logger: ctx.log, signal: ctx.signal },
  );
  ctx.log.info(`wrote ${opts.config}: edit it (or use inetboot add-entry), then run inetboot build-iso`);
}
