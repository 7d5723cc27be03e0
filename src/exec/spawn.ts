/**
 * The wrapper for long-running child processes (QEMU, a test web server) whose output is
 * streamed while they run. Short commands go through run() in run.ts instead.
 *
 * Same rules as run(): argument arrays only, the command shown with --verbose, and a
 * missing program reported as MissingToolError with its Debian package.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { MissingToolError } from '../errors.js';
import type { Logger } from '../log.js';
import { displayCommand } from './run.js';
import { TOOL_PACKAGES } from './tools.js';

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
  /**
   * Settles once the process has exited and its output has been read to the end.
   * Rejects with MissingToolError when the program could not be started.
   */
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
  /** Debian package named when the program is missing (default: looked up in TOOL_PACKAGES). */
  pkg?: string;
}

/**
 * After 'exit', wait at most this long for the output pipes to close. A grandchild that
 * inherited stdout could keep them open for ever; the process itself is gone by then.
 */
const DRAIN_AFTER_EXIT_MS = 2_000;

export function spawnLong(cmd: string, args: readonly string[], opts: SpawnLongOptions = {}): LongProcess {
  const shown = displayCommand(cmd, args);
  opts.logger?.debug(shown);
  const child = spawn(cmd, [...args], {
    cwd: opts.cwd,
    env: opts.env,
    // stdin stays an open pipe: QEMU's `-serial stdio` reads it, and EOF there is harmless.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let running = true;

  const exited = new Promise<ExitInfo>((resolve, reject) => {
    let drainTimer: NodeJS.Timeout | undefined;
    let exitInfo: ExitInfo | undefined;
    const done = (info: ExitInfo) => {
      running = false;
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
      if (err.code === 'ENOENT') {
        const pkg = opts.pkg ?? TOOL_PACKAGES[cmd.split('/').pop() ?? cmd] ?? 'the package that provides it';
        reject(new MissingToolError([{ name: cmd, pkg, reason: `needed to run: ${shown}` }]));
      } else {
        reject(err);
      }
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

  const stop: LongProcess['stop'] = async ({ signal = 'SIGTERM', graceMs = 5_000 } = {}) => {
    if (running && child.pid !== undefined) {
      child.kill(signal);
      const killTimer = setTimeout(() => {
        if (running) child.kill('SIGKILL');
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

  return {
    child,
    shown,
    get running() {
      return running;
    },
    exited,
    stop,
  };
}
