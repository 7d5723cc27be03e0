/**
 * The process layer: every external program inetboot runs goes through this module.
 *   run()        a command that finishes: its output is collected (argument arrays only,
 *                never a shell string)
 *   spawnLong()  a process whose output is streamed while it runs (QEMU, a test web server)
 *   longBuild()  a build of minutes (a kernel, Buildroot): output to a log file, progress lines
 * One lookup finds the program (PATH, then the sbin directories: tools.ts findProgram), so a tool
 * that checkTools() found is the one that runs. One formatter describes a failure: the command,
 * its exit code or signal, the lines of its output that matter, and the full log when there is
 * one. Every call takes an AbortSignal: when it fires (the CLI got SIGINT/SIGTERM) the process
 * is ended and the call throws the signal's reason.
 *
 * Every child runs in a process group of its own, and is ended as a group (SIGTERM, then
 * SIGKILL): grub-mkrescue leaves xorriso running when only it is killed, and make leaves its
 * compilers. A Ctrl-C in a terminal then reaches inetboot alone, which ends the groups itself.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { appendFileSync, createWriteStream } from 'node:fs';
import type { Socket } from 'node:net';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { abortReason, MissingToolError, ToolFailedError } from '../errors.js';
import type { Logger } from '../log.js';
import { findProgram, packageOf } from './tools.js';

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

function missingTool(cmd: string, shown: string, pkg?: string): MissingToolError {
  return new MissingToolError([{ name: cmd, pkg: pkg ?? packageOf(cmd) ?? 'the package that provides it', reason: `needed to run: ${shown}` }]);
}

/**
 * The program to execute: an absolute or relative path as given, a bare name looked up like
 * checkTools() does. A name that is nowhere is a MissingToolError before anything starts.
 */
export function resolveProgram(cmd: string, shown: string, pkg?: string): string {
  if (cmd.includes('/')) return cmd;
  const found = findProgram(cmd);
  if (!found) throw missingTool(cmd, shown, pkg);
  return found;
}

/** The one failure text: command, how it ended, the lines that matter, the log. */
export function failureText(shown: string, cmd: string, how: string, output: string, logFile?: string): string {
  const detail = relevantOutput(output);
  return `${shown}\n${cmd} ${how}${detail ? `:\n${detail}` : ''}${logFile ? `\nfull log: ${logFile}` : ''}`;
}

/**
 * A child killed by an interrupt signal that inetboot did not send (kill from outside, or a
 * terminal's Ctrl-C reaching a child that shares its group) may die a moment before this process
 * has run its own handler and aborted the signal. Such a death therefore waits briefly for the
 * abort, so that the outcome is "interrupted" and not "the tool failed".
 */
export async function abortedSoon(signal: AbortSignal | undefined, childSignal: string | null | undefined, ms = 300): Promise<boolean> {
  if (!signal) return false;
  if (!signal.aborted && childSignal && ['SIGINT', 'SIGTERM', 'SIGHUP'].includes(childSignal)) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
  return signal.aborted;
}

function howEnded(r: { code: number | null; signal: string | null | undefined; timedOutMs?: number }): string {
  if (r.timedOutMs !== undefined) return `timed out after ${r.timedOutMs} ms`;
  if (r.signal) return `was killed by signal ${r.signal}`;
  return `exited with code ${r.code}`;
}

export interface RunOptions {
  logger?: Logger;
  cwd?: string;
  /** Added to the environment (TMPDIR, for instance), not replacing it. */
  env?: Record<string, string>;
  input?: string | Buffer;
  /** Append the command and all of its output to this file. */
  logFile?: string;
  /** Return the output as a Buffer instead of a string. */
  binary?: boolean;
  timeoutMs?: number;
  /** Exit codes that are not failures (default: only 0); the caller reads exitCode. */
  okExitCodes?: readonly number[];
  /** Open file descriptors the child gets as its fd 3, 4, ... (a lock file for flock). */
  extraFds?: readonly number[];
  signal?: AbortSignal;
}

/** The part of RunOptions every stage passes down: where to report, and when to stop. */
export type RunCtx = Pick<RunOptions, 'logger' | 'signal'>;

export interface RunResult {
  stdout: string;
  stderr: string;
  stdoutBuffer?: Buffer;
  exitCode: number;
}

/** How long a group that got SIGTERM has before SIGKILL. */
const KILL_GRACE_MS = 5_000;

/** Ends a child's process group: SIGTERM now, SIGKILL after the grace time if any is left. */
function endGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (pid === undefined) return;
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is gone
    }
  };
  kill(signal);
  if (signal !== 'SIGKILL') setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS).unref();
}

/**
 * The process groups of every child still running, so that the CLI can end them if Node exits
 * by another way than a settled command (a crash): QEMU does not exit when its stdin closes,
 * and a child in its own group gets no signal from the terminal.
 */
const live = new Set<number>();

/** Kills every child's group still running (SIGKILL, synchronous): for the CLI's 'exit' handler. */
export function killLiveProcesses(): void {
  for (const pid of live) endGroup(pid, 'SIGKILL');
}

export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const shown = displayCommand(cmd, args);
  if (opts.signal?.aborted) throw abortReason(opts.signal);
  const file = resolveProgram(cmd, shown);
  opts.logger?.debug(shown);
  if (opts.logFile) appendFileSync(opts.logFile, `\n$ ${shown}\n`);
  const sub = execa(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    input: opts.input,
    reject: false,
    encoding: opts.binary ? 'buffer' : 'utf8',
    stripFinalNewline: false,
    timeout: opts.timeoutMs,
    maxBuffer: 1024 * 1024 * 1024,
    detached: true,
    // execa's types allow a number only as a whole stdio option; an fd per slot works at run time.
    stdio: ['pipe', 'pipe', 'pipe', ...(opts.extraFds ?? [])] as unknown as 'pipe',
  });
  const pid = sub.pid;
  if (pid !== undefined) live.add(pid);
  const onAbort = () => endGroup(pid);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let result: Awaited<typeof sub>;
  try {
    result = await sub;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (pid !== undefined) live.delete(pid);
  }
  const stdoutBuffer = opts.binary ? Buffer.from(result.stdout as unknown as Uint8Array) : undefined;
  const stdout = opts.binary ? '' : String(result.stdout ?? '');
  const stderr = opts.binary ? Buffer.from(result.stderr as unknown as Uint8Array).toString('utf8') : String(result.stderr ?? '');
  if (opts.logFile) appendFileSync(opts.logFile, (opts.binary ? '' : stdout) + stderr);

  if (opts.signal && (await abortedSoon(opts.signal, result.signal))) throw abortReason(opts.signal);
  if ((result as { code?: string }).code === 'ENOENT') throw missingTool(cmd, shown);
  const exitCode = result.exitCode ?? -1;
  const ok = !result.timedOut && !result.signal && (opts.okExitCodes ?? [0]).includes(exitCode);
  if (!ok) {
    const how = howEnded({ code: exitCode, signal: result.signal, timedOutMs: result.timedOut ? opts.timeoutMs : undefined });
    throw new ToolFailedError(failureText(shown, cmd, how, stderr + '\n' + stdout, opts.logFile));
  }
  return { stdout, stderr, stdoutBuffer, exitCode };
}

// ---------------------------------------------------------------------------------------
// Long-running processes, streamed

export interface ExitInfo {
  /** Exit code, or null when the process was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LongProcess {
  readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  /** The command line as shown to people (never executed). */
  readonly shown: string;
  /** True until the process has exited. */
  readonly running: boolean;
  /** Settles once the process has exited and its output has been read to the end. */
  readonly exited: Promise<ExitInfo>;
  /**
   * Ends the process: `signal` (SIGTERM by default), then SIGKILL if it is still there after
   * `graceMs`. Resolves when it has exited. Safe to call more than once or after it exited.
   */
  stop(opts?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<ExitInfo>;
}

export interface SpawnLongOptions {
  logger?: Logger;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Debian package named when the program is missing (default: the table of tools.ts). */
  pkg?: string;
  /** When it fires, the process is stopped (SIGTERM, then SIGKILL). */
  signal?: AbortSignal;
  /** Sockets handed to the process as its file descriptors 3, 4, ... */
  passSockets?: Socket[];
}

/**
 * After 'exit', wait at most this long for the output pipes to close. A grandchild that
 * inherited stdout could keep them open for ever; the process itself is gone by then.
 */
const DRAIN_AFTER_EXIT_MS = 2_000;

/** Starts a long process. Throws MissingToolError (before starting) when the program is not installed. */
export function spawnLong(cmd: string, args: readonly string[], opts: SpawnLongOptions = {}): LongProcess {
  const shown = displayCommand(cmd, args);
  if (opts.signal?.aborted) throw abortReason(opts.signal);
  const file = resolveProgram(cmd, shown, opts.pkg);
  opts.logger?.debug(shown);
  const child = spawn(file, [...args], {
    cwd: opts.cwd,
    env: opts.env,
    // stdin stays an open pipe: QEMU's `-serial stdio` reads it, and EOF there is harmless.
    stdio: ['pipe', 'pipe', 'pipe', ...(opts.passSockets ?? [])],
    detached: true,
  }) as ChildProcessByStdio<Writable, Readable, Readable>;
  let running = true;
  const pid = child.pid;
  if (pid !== undefined) live.add(pid);

  const exited = new Promise<ExitInfo>((resolve, reject) => {
    let drainTimer: NodeJS.Timeout | undefined;
    let exitInfo: ExitInfo | undefined;
    const done = (info: ExitInfo) => {
      running = false;
      if (pid !== undefined) live.delete(pid);
      if (drainTimer) clearTimeout(drainTimer);
      resolve(info);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      // 'error' also fires when a kill fails; only a failed start (no pid) ends the process.
      if (child.pid !== undefined) {
        opts.logger?.debug(`${cmd}: ${err.message}`);
        return;
      }
      running = false;
      reject(err.code === 'ENOENT' ? missingTool(cmd, shown, opts.pkg) : err);
    });
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      running = false;
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        done(exitInfo!);
      }, DRAIN_AFTER_EXIT_MS);
      drainTimer.unref();
    });
    child.once('close', (code, signal) => {
      if (child.pid === undefined) return; // failed start: 'error' has rejected already
      done(exitInfo ?? { code, signal });
    });
  });
  // Marks the promise handled so that a failed start never becomes an unhandled rejection
  // before the caller awaits it; callers still see the rejection.
  exited.catch(() => undefined);
  // Writing to the stdin of a process that has exited gives EPIPE: not worth a crash.
  child.stdin.on('error', () => undefined);

  // The whole group: make's compilers, or anything QEMU or a server started, go with it.
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      if (pid !== undefined) process.kill(-pid, sig);
    } catch {
      child.kill(sig);
    }
  };
  const stop: LongProcess['stop'] = async ({ signal = 'SIGTERM', graceMs = KILL_GRACE_MS } = {}) => {
    if (running && child.pid !== undefined) {
      killGroup(signal);
      const killTimer = setTimeout(() => {
        if (running) killGroup('SIGKILL');
      }, graceMs);
      killTimer.unref();
      try {
        return await exited;
      } finally {
        clearTimeout(killTimer);
      }
    }
    return exited;
  };

  const proc: LongProcess = {
    child,
    shown,
    get running() {
      return running;
    },
    exited,
    stop,
  };
  if (opts.signal) {
    const onAbort = () => void stop();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    void exited.finally(() => opts.signal?.removeEventListener('abort', onAbort)).catch(() => undefined);
  }
  return proc;
}

// ---------------------------------------------------------------------------------------
// Long builds

export interface LongBuildOptions {
  cwd?: string;
  logFile: string;
  logger?: Logger;
  /** Picks what is being built from an output line ("CC drivers/net/virtio_net.o" -> that), or undefined. */
  progress?: (line: string) => string | undefined;
  /** Lowers the build's CPU priority (`nice -n 10`): the machine stays usable while it runs. */
  nice?: boolean;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

const STDOUT_KEEP = 1024 * 1024;

export function elapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * A build of minutes whose output nobody wants on the terminal but everybody needs when it
 * fails: all of it goes to logFile; the user sees what is being built and the time so far
 * every few seconds; on failure, the lines that say "error" and the path of the full log.
 */
export async function longBuild(cmd: string, args: readonly string[], opts: LongBuildOptions): Promise<{ stdout: string }> {
  const [prog, argv] = opts.nice ? ['nice', ['-n', '10', cmd, ...args]] : [cmd, [...args]];
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  log.write(`\n$ ${displayCommand(prog, argv)}\n`);
  const started = Date.now();
  let current: string | undefined;
  let tail = '';
  const tailLines: string[] = [];
  // What the program prints on stdout as its result (the packer's JSON), at most STDOUT_KEEP.
  let stdout = '';
  const onStdout = (chunk: Buffer) => {
    if (stdout.length < STDOUT_KEEP) stdout += chunk.toString('utf8');
    onData(chunk);
  };
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    const text = tail + chunk.toString('utf8');
    // A progress bar redraws itself with carriage returns: each redraw is a line too.
    const lines = text.split(/\r\n|\r|\n/);
    tail = lines.pop() ?? '';
    for (const line of lines) {
      tailLines.push(line);
      if (tailLines.length > 400) tailLines.shift();
      const what = opts.progress?.(line);
      if (what) current = what;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const proc = spawnLong(prog, argv, { cwd: opts.cwd, env: opts.env, logger: opts.logger, signal: opts.signal });
    proc.child.stdout.on('data', onStdout);
    proc.child.stderr.on('data', onData);
    // Offered every second; the logger shows it as a status line or a line every few seconds.
    timer = setInterval(() => opts.logger?.progress(`${basename(cmd)}: ${elapsed(Date.now() - started)}${current ? `: ${current}` : ''}`), 1000);
    const { code, signal } = await proc.exited;
    if (opts.signal && (await abortedSoon(opts.signal, signal))) throw abortReason(opts.signal);
    if (tail) tailLines.push(tail);
    if (code !== 0) {
      const how = `${howEnded({ code, signal })} after ${elapsed(Date.now() - started)}`;
      throw new ToolFailedError(failureText(displayCommand(cmd, args), cmd, how, tailLines.join('\n'), opts.logFile));
    }
    return { stdout };
  } finally {
    clearInterval(timer);
    opts.logger?.progress('');
    await new Promise<void>((resolve) => log.end(resolve));
  }
}
