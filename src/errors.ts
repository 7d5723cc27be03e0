/**
 * The error classes of inetboot. Library code throws these; only src/cli.ts turns
 * them into messages and exit codes (0 success, 1 failure, 2 bad usage or bad config).
 */

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The signals the CLI turns into a clean stop, with the shell's exit codes for them (128 + number). */
export const INTERRUPT_EXIT = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
export type InterruptSignal = keyof typeof INTERRUPT_EXIT;

export abstract class InetbootError extends Error {
  abstract readonly exitCode: number;
  /** Optional advice printed after the message ("what to do"). */
  hint?: string;
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** What the user fixes by changing the command line or the config. Exit 2. */
abstract class BadInputError extends InetbootError {
  readonly exitCode = EXIT_USAGE;
}

/** What went wrong in the world: a tool, a download, a boot. Exit 1. */
abstract class FailureError extends InetbootError {
  readonly exitCode = EXIT_FAILURE;
}

/** One problem in a config file, with where it is and what to write instead. */
export interface ConfigProblem {
  file: string;
  line?: number;
  /** Dot path of the key, e.g. `entries[1].kernel.sha256`. Empty for the whole file. */
  path: string;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** The config file is missing, unreadable, not YAML, or breaks a rule. Exit 2. */
export class ConfigError extends BadInputError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[], options?: { hint?: string; cause?: unknown }) {
    super(problems.map(formatProblem).join('\n'), options);
    this.problems = problems;
  }
}

/** Bad command-line usage that commander itself cannot catch. Exit 2. */
export class UsageError extends BadInputError {}

/** A value cannot be written safely into GRUB script, shell or a kernel command line. Exit 2. */
export class QuoteError extends BadInputError {}

/** An external program is not installed. Exit 1. */
export class MissingToolError extends FailureError {
  readonly tools: { name: string; pkg: string; reason: string }[];
  constructor(tools: { name: string; pkg: string; reason: string }[]) {
    const lines = tools.map((t) => `  ${t.name} (Debian package ${t.pkg}): ${t.reason}`);
    const pkgs = [...new Set(tools.map((t) => t.pkg))].join(' ');
    super(`missing tools:\n${lines.join('\n')}`, { hint: `install them: apt-get install ${pkgs}` });
    this.tools = tools;
  }
}

/** An external program ran and failed. Exit 1. */
export class ToolFailedError extends FailureError {}

/** A smoke boot did not reach its marker. Exit 1. */
export class BootFailedError extends FailureError {}

/**
 * The CLI was asked to stop (Ctrl-C, SIGTERM) and every temporary file of the work under way
 * was removed. The reason of the AbortSignal that the CLI passes down; exit 130 or 143.
 */
export class InterruptedError extends InetbootError {
  readonly exitCode: number;
  constructor(readonly signal: InterruptSignal) {
    super(`interrupted by ${signal}: stopped, and removed what was half written; earlier outputs are as they were`);
    this.exitCode = INTERRUPT_EXIT[signal];
  }
}

/** Throws the reason of an aborted signal (an InterruptedError from the CLI), if it is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** What an aborted operation throws: the signal's reason when it is one of ours. */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new InterruptedError('SIGINT');
}

/** Anything else that fails for a reason the user can act on. Exit 1. */
export class OperationError extends FailureError {}
