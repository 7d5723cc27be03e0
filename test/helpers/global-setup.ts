/** Compiles src/ to dist/ once before the tests, so tests that run bin/inetboot.js use the current code. */
import { execa } from 'execa';
import { REPO_ROOT } from './paths.js';

export default async function setup(): Promise<void> {
  await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO_ROOT, stdio: 'inherit' });
}
