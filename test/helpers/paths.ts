import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Everything tests write for diagnosis (console logs, ISOs, build logs) goes below here. */
export const TEST_OUTPUT = process.env.INETBOOT_TEST_OUTPUT ?? join(REPO_ROOT, 'test-output');

export function outputDir(name: string): string {
  const dir = join(TEST_OUTPUT, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
