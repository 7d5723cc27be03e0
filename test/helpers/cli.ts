/**
 * Running the inetboot CLI from tests, two ways:
 *   cli(...args)   in-process: main() from src/cli.ts with its output captured (fast)
 *   bin(args)      the installed program: `node bin/inetboot.js` (dist/, compiled by the global
 *                  setup), as users and CI pipelines run it: real exit codes and signals
 *   spawnBin(args) the same, still running: for tests that send it signals
 */
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { main } from '../../src/cli.js';
import { REPO_ROOT } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'inetboot', ...args], {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
  });
  return { code, stdout, stderr };
}

export const BIN = join(REPO_ROOT, 'bin', 'inetboot.js');

export interface BinOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string;
}

export function spawnBin(args: readonly string[], opts: BinOptions = {}): ResultPromise<{ reject: false; cwd?: string; env?: Record<string, string>; stdin: 'ignore' | 'pipe' }> {
  return execa(process.execPath, [BIN, ...args], { reject: false, cwd: opts.cwd, env: opts.env, stdin: opts.input === undefined ? 'ignore' : 'pipe' }) as never;
}

export async function bin(args: readonly string[], opts: BinOptions = {}): Promise<CliResult> {
  const r = await execa(process.execPath, [BIN, ...args], { reject: false, cwd: opts.cwd, env: opts.env, input: opts.input, stdin: opts.input === undefined ? 'ignore' : undefined });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
