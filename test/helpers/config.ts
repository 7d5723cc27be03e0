/** Config-test helpers: the messages a config produces, one per problem. */
import { expect } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

/** The messages parseConfig throws for `text` (named `file`), one per problem; fails when it accepts the text. */
export function problems(text: string, file = 'ib.yaml'): string[] {
  try {
    parseConfig(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    return (err as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}
