/**
 * The injected I/O and the logger the core reports through. The core never writes to the
 * terminal itself: the CLI passes a Logger that writes to its Io, tests pass their own.
 */

/** Where the CLI writes: the real stdout/stderr in bin/inetboot.js, strings in tests. */
export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** stderr is a terminal: progress is a status line redrawn in place. */
  stderrIsTTY?: boolean;
  /** The terminal as bytes, for `inetboot run`'s console (absent in tests that pass strings). */
  terminal?: Terminal;
}

/** Keys in, bytes out: the process's stdin and stdout. */
export interface Terminal {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  write(bytes: Buffer): void;
}

export interface Logger {
  /** A step of long work ("building initramfs"). */
  step(message: string): void;
  /** Plain information. */
  info(message: string): void;
  warn(message: string): void;
  /** Only with --verbose: each command run, and similar detail. */
  debug(message: string): void;
  /**
   * How far long work has got ("downloading linux-image: 12.0 of 40.1 MiB"), called as often as
   * the work likes; the logger decides what reaches the terminal. An empty message ends it.
   */
  progress(message: string): void;
}

/** A plain progress line at most this often when stderr is not a terminal (a CI log). */
export const PLAIN_PROGRESS_MS = 5_000;
/** A terminal's status line is redrawn at most this often. */
const TTY_PROGRESS_MS = 100;

/**
 * Progress and messages on io.stderr (stdout is kept for results that scripts read). Progress
 * is one status line redrawn in place when stderr is a terminal (`tty`), a plain line every
 * PLAIN_PROGRESS_MS when it is not, and nothing with quiet.
 */
export function consoleLogger(io: Pick<Io, 'stderr'>, opts: { verbose?: boolean; quiet?: boolean; tty?: boolean; now?: () => number } = {}): Logger {
  const now = opts.now ?? Date.now;
  let statusShown = false;
  let lastProgress = -Infinity;
  const clearStatus = () => {
    if (statusShown) io.stderr('\r\x1b[K');
    statusShown = false;
  };
  const err = (s: string) => {
    clearStatus();
    io.stderr(s + '\n');
  };
  return {
    step: (m) => {
      if (!opts.quiet) err(`==> ${m}`);
    },
    info: (m) => {
      if (!opts.quiet) err(m);
    },
    warn: (m) => err(`warning: ${m}`),
    debug: (m) => {
      if (opts.verbose) err(`  + ${m}`);
    },
    progress: (m) => {
      if (opts.quiet) return;
      if (m === '') {
        clearStatus();
        lastProgress = -Infinity;
        return;
      }
      const t = now();
      if (t - lastProgress < (opts.tty ? TTY_PROGRESS_MS : PLAIN_PROGRESS_MS)) return;
      lastProgress = t;
      // One line, whatever the message: control characters would break the redraw.
      const line = `  ${m.replace(/[\u0000-\u001f\u007f]/g, ' ')}`;
      if (opts.tty) {
        io.stderr(`\r\x1b[K${line.slice(0, 120)}`);
        statusShown = true;
      } else {
        io.stderr(line + '\n');
      }
    },
  };
}

export function silentLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    step: (m) => lines.push(`step: ${m}`),
    info: (m) => lines.push(`info: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    debug: (m) => lines.push(`debug: ${m}`),
    progress: (m) => lines.push(`progress: ${m}`),
  };
}
