/**
 * The injected I/O and the logger the core reports through. The core never writes to the
 * terminal itself: the CLI passes a Logger that writes to its Io, tests pass their own.
 */

/** Where the CLI writes: the real stdout/stderr in bin/inetboot.js, strings in tests. */
export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export interface Logger {
  /** A step of long work ("building initramfs"). */
  step(message: string): void;
  /** Plain information. */
  info(message: string): void;
  warn(message: string): void;
  /** Only with --verbose: each command run, and similar detail. */
  debug(message: string): void;
}

/** Progress and messages on io.stderr (stdout is kept for results that scripts read). */
export function consoleLogger(io: Pick<Io, 'stderr'>, opts: { verbose?: boolean; quiet?: boolean } = {}): Logger {
  const err = (s: string) => io.stderr(s + '\n');
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
  };
}
