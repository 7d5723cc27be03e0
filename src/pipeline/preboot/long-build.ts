/**
 * Long builds (a kernel, Buildroot): minutes of output that nobody wants on the terminal but
 * everybody needs when it fails. The whole output goes to a log file; the user sees what is
 * being built and the time so far every few seconds; on failure, the lines that say "error"
 * and the path of the full log.
 */
import { createWriteStream } from 'node:fs';
import { ToolFailedError } from '../../errors.js';
import { spawnLong } from '../../exec/spawn.js';
import { displayCommand, relevantOutput } from '../../exec/run.js';
import type { Logger } from '../../log.js';

export interface LongBuildOptions {
  cwd?: string;
  logFile: string;
  logger?: Logger;
  /** Picks what is being built from an output line ("CC drivers/net/virtio_net.o" -> that), or undefined. */
  progress?: (line: string) => string | undefined;
  /** Seconds between progress lines. */
  everyS?: number;
  /** Lowers the build's CPU priority (`nice -n 10`): the machine stays usable while it runs. */
  nice?: boolean;
  env?: NodeJS.ProcessEnv;
}

export function elapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export async function longBuild(cmd: string, args: readonly string[], opts: LongBuildOptions): Promise<void> {
  const [prog, argv] = opts.nice ? ['nice', ['-n', '10', cmd, ...args]] : [cmd, [...args]];
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  log.write(`\n$ ${displayCommand(prog, argv)}\n`);
  const started = Date.now();
  let current: string | undefined;
  let tail = '';
  const tailLines: string[] = [];
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    const text = tail + chunk.toString('utf8');
    const lines = text.split('\n');
    tail = lines.pop() ?? '';
    for (const line of lines) {
      tailLines.push(line);
      if (tailLines.length > 400) tailLines.shift();
      const what = opts.progress?.(line);
      if (what) current = what;
    }
  };
  const proc = spawnLong(prog, argv, { cwd: opts.cwd, env: opts.env, logger: opts.logger });
  proc.child.stdout.on('data', onData);
  proc.child.stderr.on('data', onData);
  const timer = setInterval(() => {
    opts.logger?.info(`  ${elapsed(Date.now() - started)}${current ? `: ${current}` : ''}`);
  }, (opts.everyS ?? 15) * 1000);
  try {
    const { code, signal } = await proc.exited;
    if (tail) tailLines.push(tail);
    if (code !== 0) {
      const how = signal ? `was killed by signal ${signal}` : `exited with code ${code}`;
      const detail = relevantOutput(tailLines.join('\n'));
      throw new ToolFailedError(`${displayCommand(cmd, args)}\n${cmd} ${how} after ${elapsed(Date.now() - started)}${detail ? `:\n${detail}` : ''}\nfull log: ${opts.logFile}`);
    }
  } finally {
    clearInterval(timer);
    await new Promise<void>((resolve) => log.end(resolve));
  }
}
