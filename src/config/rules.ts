/**
 * Cross-field rules: what one key cannot check alone. They run on a config that
 * passed the schema, so every value here already has its type.
 */
import type { ConfigProblem } from '../errors.js';
import type { Config } from './schema.js';

export type PathSegment = string | number;
/** The 1-based line of a key path in the file, or of its nearest existing parent. */
export type Locate = (path: readonly PathSegment[]) => number | undefined;

export function checkRules(config: Config, file: string, locate: Locate): ConfigProblem[] {
  return [...duplicateIds(config, file, locate), ...defaultExists(config, file, locate)];
}

function duplicateIds(config: Config, file: string, locate: Locate): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const first = new Map<string, number>();
  config.entries.forEach((entry, i) => {
    const seen = first.get(entry.id);
    if (seen === undefined) {
      first.set(entry.id, i);
      return;
    }
    const firstLine = locate(['entries', seen, 'id']);
    problems.push({
      file,
      line: locate(['entries', i, 'id']),
      path: `entries[${i}].id`,
      message: `duplicate id "${entry.id}": entries[${seen}]${firstLine === undefined ? '' : ` on line ${firstLine}`} has it already; give each entry its own id`,
    });
  });
  return problems;
}

function defaultExists(config: Config, file: string, locate: Locate): ConfigProblem[] {
  const id = config.default;
  if (id === undefined || config.entries.some((e) => e.id === id)) return [];
  const ids = [...new Set(config.entries.map((e) => e.id))];
  const message =
    ids.length === 0
      ? `no entry has id "${id}", because there are no entries: add one (inetboot add-entry), or remove the default key`
      : `no entry has id "${id}": write one of ${ids.join(', ')}`;
  return [{ file, line: locate(['default']), path: 'default', message }];
}
