/**
 * `inetboot serve DIR [--port N]`: serves DIR on 127.0.0.1 until SIGINT/SIGTERM, for trying an
 * ISO or a published tree in QEMU. The two URLs go to stdout (scripts read them, e.g. with
 * --port 0); the access log goes through the logger (stderr, silenced by -q).
 */
import { UsageError } from '../errors.js';
import { DEFAULT_PORT, formatAccessLine, SERVE_HOST, startStaticServer } from '../serve/server.js';
import type { CommandContext } from './context.js';

export interface ServeOptions {
  /** As typed; default DEFAULT_PORT. */
  port?: string;
}

export function parsePort(text: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text) || Number(text) > 65535) throw new UsageError(`--port ${text}: write a port number from 1 to 65535, or 0 for any free port`);
  return Number(text);
}

/**
 * Serves until ctx.signal is aborted, then closes every connection and returns: a server that
 * was asked to stop has done its job, so the CLI exits 0.
 */
export async function serveCommand(dir: string, opts: ServeOptions, ctx: CommandContext, out: (s: string) => void): Promise<void> {
  const port = opts.port === undefined ? DEFAULT_PORT : parsePort(opts.port);
  const server = await startStaticServer({ root: dir, port, onRequest: (e) => ctx.log.info(formatAccessLine(e)) });
  out(`${server.url}  (this machine)\n${server.guestUrl}  (a QEMU guest with user networking)\n`);
  ctx.log.info(`serving ${server.root} on ${SERVE_HOST} only; Ctrl-C stops`);
  // Without a signal (main() called without one) it serves until the process ends.
  await new Promise<void>((resolve) => {
    if (ctx.signal?.aborted) resolve();
    ctx.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
}
