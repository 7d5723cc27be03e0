/** What every command gets from the CLI: where to report, and the signal that says "stop". */
import type { Logger } from '../log.js';

export interface CommandContext {
  log: Logger;
  /** Aborted by the CLI on SIGINT/SIGTERM; every long operation is passed it. */
  signal?: AbortSignal;
}
