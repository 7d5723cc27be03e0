/**
 * The logger the core reports through. The core never writes to the terminal itself:
 * commands pass a Logger, tests pass a collecting one.
 */
export interface Logger {
  /** A step of long work ("building initramfs"). */
  step(message: string): void;
  /** Plain information. */
  info(message: string): void;
  warn(message: string): void;
  /** Only with --verbose: each command run, and similar detail. */
  debug(message: string): void;
}

export function consoleLogger(opts: { verbose?: boolean; quiet?: boolean } = {}): Logger {
  const err = (s: string) => process.stderr.write(s + '\n');
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
