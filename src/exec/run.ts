/**
 * The one process wrapper. Every external program inetboot runs goes through run():
 * argument arrays only (never a shell string), the command shown with --verbose,
 * a missing program reported with its Debian package, and a failure reported with the
 * command, its exit code or signal, and the lines of its output that matter.
 */
import { appendFileSync } from 'node:fs';
import { execa } from 'execa';
import { MissingToolError, ToolFailedError } from '../errors.js';
import type { Logger } from '../log.js';
import { TOOL_PACKAGES } from './tools.js';

export interface RunOptions {
  logger?: Logger;
  cwd?: string;
  env?: Record<string, string>;
  input?: string | Buffer;
  /** Append the command and all of its output to this file. */
  logFile?: string;
  /** Return the output as a Buffer instead of a string. */
  binary?: boolean;
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  stdoutBuffer?: Buffer;
}

/** Quotes a word for display only (never executed). */
export function displayWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function displayCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map(displayWord).join(' ');
}

const INTERESTING = /error|fail|cannot|can't|not found|no such|denied|invalid|fatal|unable/i;

/** Picks the lines worth showing: those that say "error" and friends, else the tail. */
export function relevantOutput(output: string, max = 20): string {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const hits = lines.filter((l) => INTERESTING.test(l));
  const chosen = hits.length > 0 ? hits.slice(-max) : lines.slice(-max);
  return chosen.join('\n');
}

export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const shown = displayCommand(cmd, args);
  opts.logger?.debug(shown);
  if (opts.logFile) appendFileSync(opts.logFile, `\n$ ${shown}\n`);
  const result = await execa(cmd, args, {
    cwd: opts.cwd,
    env: opts.env,
    input: opts.input,
    reject: false,
    encoding: opts.binary ? 'buffer' : 'utf8',
    stripFinalNewline: false,
    timeout: opts.timeoutMs,
    maxBuffer: 1024 * 1024 * 1024,
  });
  const stdoutBuffer = opts.binary ? Buffer.from(result.stdout as unknown as Uint8Array) : undefined;
  const stdout = opts.binary ? '' : String(result.stdout ?? '');
  const stderr = opts.binary ? Buffer.from(result.stderr as unknown as Uint8Array).toString('utf8') : String(result.stderr ?? '');
  if (opts.logFile) appendFileSync(opts.logFile, (opts.binary ? '' : stdout) + stderr);

  const code = (result as { code?: string }).code;
  if (code === 'ENOENT' || result.exitCode === 127) {
    const pkg = TOOL_PACKAGES[cmd.split('/').pop() ?? cmd] ?? 'the package that provides it';
    throw new MissingToolError([{ name: cmd, pkg, reason: `needed to run: ${shown}` }]);
  }
  if (result.failed) {
    const how = result.timedOut
      ? `timed out after ${opts.timeoutMs} ms`
      : result.signal
        ? `was killed by signal ${result.signal}`
        : `exited with code ${result.exitCode}`;
    const detail = relevantOutput(stderr + '\n' + stdout);
    const logNote = opts.logFile ? `\nfull log: ${opts.logFile}` : '';
    throw new ToolFailedError(`${shown}\n${cmd} ${how}${detail ? `:\n${detail}` : ''}${logNote}`);
  }
  return { stdout, stderr, stdoutBuffer };
}
