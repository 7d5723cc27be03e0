/**
 * A small HTTP server on 127.0.0.1 for the download faults a real server (nginx) cannot be
 * made to produce: a body that stops mid-transfer with the connection kept open, a body cut
 * short with or without Content-Length, wrong bytes, a status code on demand, a server that
 * accepts and never answers. Normal mirrors in the tests are nginx (test/helpers/nginx.ts).
 *
 * The fault is chosen by the path, so one server serves every scenario and the URLs say
 * what they do:  /MODE/N/FILE  where FILE is a file under `root` and N a number:
 *   ok/0/F            the file, whole (Content-Length, no Range support)
 *   status/CODE/F     an empty response with that status (404, 500, ...)
 *   stall/N/F         Content-Length of the whole file, the first N bytes, then silence with
 *                     the connection held open until the client gives up
 *   stall-ranges/N/F  as stall, but advertises "Accept-Ranges: bytes" and serves any
 *                     "Range: bytes=K-" request whole (206): a resumed download completes
 *   truncate-cl/N/F   Content-Length of the whole file, the first N bytes, then close
 *   truncate-nocl/N/F no Content-Length (the body ends when the connection closes), N bytes
 *   wrong/N/F         the whole length, with the byte at offset N (and every 4096th after) flipped
 *   hang/0/F          accepts the connection and never answers
 *   trickle/N/F       the whole file (Content-Length), N bytes every 100 ms: a slow mirror
 *   flaky/N/F         503 for the first N requests of this path, then the file whole
 *   delay/MS/F        the file whole, MS milliseconds after the request: a distant mirror
 *   dies/N/F          the file whole for the first N requests of this mode (any file); the
 *                     next one kills the server: every connection dropped, nothing listening
 *                     (connection refused) from then on, as a mirror that went down mid-boot
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join, normalize } from 'node:path';

export interface FaultServer {
  port: number;
  /** http://10.0.2.2:PORT: the address a QEMU guest with user networking uses. */
  baseUrlForGuest: string;
  /** The guest's URL of FILE served with a fault: `url('stall', 65536, 'vmlinuz')`. */
  guestUrl(mode: FaultMode, n: number, file: string): string;
  /** Every request as "METHOD PATH [range]", in order. */
  requests: string[];
  stop(): Promise<void>;
}

export type FaultMode = 'ok' | 'status' | 'stall' | 'stall-ranges' | 'truncate-cl' | 'truncate-nocl' | 'wrong' | 'hang' | 'trickle' | 'flaky' | 'dies' | 'delay';

export async function startFaultServer(opts: { root: string }): Promise<FaultServer> {
  const sockets = new Set<Socket>();
  const seen = new Map<string, number>();
  const requests: string[] = [];
  let dying = 0;
  const server = createServer((req, res) => {
    requests.push(`${req.method ?? '?'} ${req.url ?? '?'}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    const dies = /^\/dies\/(\d+)\//.exec(req.url ?? '');
    if (dies && ++dying > Number(dies[1])) {
      server.close();
      for (const s of sockets) s.destroy();
      return;
    }
    try {
      const count = (seen.get(req.url ?? '') ?? 0) + 1;
      seen.set(req.url ?? '', count);
      handle(opts.root, req, res, count);
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`fault-server: ${(err as Error).message}\n`);
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // A stalled response keeps its socket: without this, Node would time it out after 5 minutes
  // of silence and a slow test would see a truncation instead of a stall.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const onExit = () => server.close();
  process.once('exit', onExit);
  return {
    port,
    baseUrlForGuest: `http://10.0.2.2:${port}`,
    guestUrl: (mode, n, file) => `http://10.0.2.2:${port}/${mode}/${n}/${file}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        process.removeListener('exit', onExit);
        for (const s of sockets) s.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}

/** `count`: how many requests this path has had, this one included. */
function handle(root: string, req: IncomingMessage, res: ServerResponse, count: number): void {
  const m = /^\/([a-z-]+)\/(\d+)\/(.+)$/.exec(req.url ?? '');
  if (!m) {
    res.writeHead(400).end('fault-server: want /MODE/N/FILE\n');
    return;
  }
  const [, mode, nText, file] = m as unknown as [string, FaultMode, string, string];
  const n = Number(nText);
  if (normalize(file).startsWith('..')) {
    res.writeHead(400).end();
    return;
  }
  if (mode === 'hang') return; // never answer; the socket is destroyed by stop()
  if (mode === 'status' || (mode === 'flaky' && count <= n)) {
    res.writeHead(mode === 'status' ? n : 503, { 'Content-Length': '0' }).end();
    return;
  }
  const body = readFileSync(join(root, file));
  const head = req.method === 'HEAD';
  const full = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) };
  switch (mode) {
    case 'ok':
    case 'flaky':
    case 'dies':
      res.writeHead(200, full).end(head ? undefined : body);
      return;
    case 'delay': {
      const timer = setTimeout(() => res.writeHead(200, full).end(head ? undefined : body), n);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    case 'stall-ranges': {
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range) {
        const from = Number(range[1]);
        res.writeHead(206, {
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(body.length - from),
          'Content-Range': `bytes ${from}-${body.length - 1}/${body.length}`,
          'Accept-Ranges': 'bytes',
        });
        res.end(head ? undefined : body.subarray(from));
        return;
      }
      res.writeHead(200, { ...full, 'Accept-Ranges': 'bytes' });
      if (!head) res.write(body.subarray(0, n));
      return; // and never end: the client sees a stall
    }
    case 'stall':
      res.writeHead(200, full);
      if (!head) res.write(body.subarray(0, n));
      return;
    case 'truncate-cl':
      res.writeHead(200, full);
      if (head) {
        res.end();
        return;
      }
      res.write(body.subarray(0, n), () => res.destroy());
      return;
    case 'truncate-nocl': {
      // Without Content-Length and without chunked encoding the body ends at the close:
      // HTTP/1.0-style, which is what a proxy or server that dies mid-file looks like.
      const sock = res.socket;
      if (!sock) return;
      res.detachSocket(sock);
      sock.write('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n');
      if (head) sock.end();
      else sock.end(body.subarray(0, n));
      return;
    }
    case 'trickle': {
      res.writeHead(200, full);
      if (head || n <= 0) {
        res.end(head ? undefined : body);
        return;
      }
      let at = 0;
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write(body.subarray(at, at + n));
        at += n;
        if (at >= body.length) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case 'wrong': {
      const bad = Buffer.from(body);
      for (let i = n; i < bad.length; i += 4096) bad[i] = (bad[i] ?? 0) ^ 0xff;
      res.writeHead(200, full).end(head ? undefined : bad);
      return;
    }
    default:
      res.writeHead(400).end(`fault-server: unknown mode ${String(mode)}\n`);
  }
}
