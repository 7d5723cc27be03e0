/**
 * Parallel edits of one config by real processes (node bin/inetboot.js): the lock around read,
 * check and rename (src/files/lock.ts) must lose nothing. 24 of each kind at once.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { parseConfig } from '../../src/config/load.js';
import { OperationError } from '../../src/errors.js';
import { lockPathFor, withFileLock } from '../../src/files/lock.js';
import { silentLogger } from '../../src/log.js';
import { bin } from '../helpers/cli.js';
import { outputDir } from '../helpers/paths.js';
import { scaled } from '../helpers/timeouts.js';

const N = 24;
const OUT = outputDir('hostile-concurrency');
const ids = Array.from({ length: N }, (_, i) => `p${i}`);
const entryYaml = (id: string) => `  - id: ${id}\n    title: Entry ${id}\n    kernel: http://10.0.2.2:8080/${id}\n`;

function fresh(name: string, entries: string[]): string {
  const file = join(OUT, `${name}.yaml`);
  writeFileSync(file, `# kept comment\ntimeout: 5\nentries:\n${['  - id: base\n    title: Base\n    kernel: http://10.0.2.2:8080/base\n', ...entries.map(entryYaml)].join('')}`);
  return file;
}

async function all(argvs: string[][]): Promise<{ code: number; stderr: string }[]> {
  return Promise.all(argvs.map((a) => bin(a)));
}

function entriesOf(file: string) {
  return parseConfig(readFileSync(file, 'utf8'), file).config;
}

function noDebris(): void {
  expect(readdirSync(OUT).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
}

describe(`${N} parallel edits of one config lose nothing`, () => {
  it('add-entry', async () => {
    const file = fresh('add', []);
    const rs = await all(ids.map((id) => ['add-entry', '-c', file, '--id', id, '--title', `Entry ${id}`, '--kernel', `http://10.0.2.2:8080/${id}`]));
    expect(rs.map((r) => r.code)).toEqual(ids.map(() => 0));
    const config = entriesOf(file);
    expect(config.entries.map((e) => e.id).sort()).toEqual(['base', ...ids].sort());
    noDebris();
  }, scaled(120_000));

  it('remove-entry', async () => {
    const file = fresh('remove', ids);
    const rs = await all(ids.map((id) => ['remove-entry', '-c', file, id]));
    expect(rs.map((r) => r.code)).toEqual(ids.map(() => 0));
    expect(entriesOf(file).entries.map((e) => e.id)).toEqual(['base']);
    noDebris();
  }, scaled(120_000));

  it('set-default, and add-entry --default among them', async () => {
    const file = fresh('default', ids);
    const extra = ids.map((id) => `q${id}`);
    const rs = await all([
      ...ids.map((id) => ['set-default', '-c', file, id]),
      ...extra.map((id) => ['add-entry', '-c', file, '--id', id, '--title', id, '--kernel', `http://10.0.2.2:8080/${id}`, '--default']),
    ]);
    expect(rs.map((r) => r.code)).toEqual([...ids, ...extra].map(() => 0));
    const config = entriesOf(file);
    expect(config.entries.map((e) => e.id).sort()).toEqual(['base', ...ids, ...extra].sort());
    expect([...ids, ...extra]).toContain(config.default);
    noDebris();
  }, scaled(120_000));

  it('a mix of all three on one file', async () => {
    const file = fresh('mixed', ids.slice(0, 12));
    const rs = await all([
      ...ids.slice(0, 12).map((id) => ['remove-entry', '-c', file, id]),
      ...ids.slice(12).map((id) => ['add-entry', '-c', file, '--id', id, '--title', id, '--kernel', `http://10.0.2.2:8080/${id}`]),
      ...Array.from({ length: 8 }, () => ['set-default', '-c', file, 'base']),
    ]);
    expect(rs.every((r) => r.code === 0), rs.map((r) => r.stderr).join('')).toBe(true);
    const config = entriesOf(file);
    expect(config.entries.map((e) => e.id).sort()).toEqual(['base', ...ids.slice(12)].sort());
    expect(config.default).toBe('base');
    noDebris();
  }, scaled(120_000));
});

describe('the lock itself', () => {
  it('waits for a holder, says so, and gives up after the wait with what to do', async () => {
    const file = fresh('held', []);
    const lock = lockPathFor(file);
    // Another holder: flock(1) on the same lock file, for 4 s.
    const holder = execa('flock', ['--exclusive', lock, 'sleep', '4']);
    await new Promise((r) => setTimeout(r, 300));
    const log = silentLogger();
    const err = await withFileLock(file, async () => 'never', { waitS: 1, logger: log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as OperationError).message).toBe(`another inetboot has been editing ${file} for more than 1 s (it holds ${lock}); nothing was changed`);
    expect(log.lines).toEqual([`info: waiting for another inetboot that is editing ${file} (at most 1 s)`]);
    // Once the holder is gone, the lock is taken at once.
    await holder;
    expect(await withFileLock(file, async () => 'done', { waitS: 1 })).toBe('done');
    noDebris();
  }, scaled(30_000));
});
