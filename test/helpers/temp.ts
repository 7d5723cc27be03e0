/**
 * Temporary folders for tests, removed after the test file that made them: a test run leaves
 * nothing behind in the system's temporary folder (before this helper, every run of the unit
 * tests left about 30 folders there). Not for mount points: a test that mounts a file system on
 * a folder unmounts and removes it itself (test/integration/cache-shell.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
// Registered once per test file: vitest evaluates this module again for each file it runs, so
// the hook belongs to the file that imported it and runs after its last test.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new folder under the system's temporary folder, named PREFIX and six random characters. */
export function testTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
