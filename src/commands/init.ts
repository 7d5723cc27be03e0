/** `inetboot init`: write the commented example config. */
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/atomic.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { PACKAGE_ROOT } from '../paths.js';

export const EXAMPLE_CONFIG = join(PACKAGE_ROOT, 'examples', 'inetboot.yaml');

export async function initCommand(opts: { config: string; force?: boolean }, log: Logger): Promise<void> {
  const exists = await lstat(opts.config).then(
    () => true,
    () => false,
  );
  if (exists && !opts.force) throw new UsageError(`${opts.config} exists already: use --force to overwrite it`);
  await writeFileAtomic(opts.config, await readFile(EXAMPLE_CONFIG, 'utf8'));
  log.info(`wrote ${opts.config}: edit it (or use inetboot add-entry), then run inetboot build-iso`);
}
