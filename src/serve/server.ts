/**
 * `inetboot serve`: a static HTTP server for trying things out, on 127.0.0.1 only. A QEMU guest
 * with user networking reaches it as http://10.0.2.2:PORT/. Production is any real web server
 * or CDN (README, "Serving"; examples/nginx/inetboot.conf).
 *
 * What it does, and why:
 * - GET and HEAD; any other method is 405 with `Allow: GET, HEAD`.
 * - One byte range (`bytes=A-B`, `bytes=A-`, `bytes=-N`) is 206 with Content-Range; a range
 *   that starts past the end is 416 with a Content-Range that gives the size. Several ranges, or a
 *   Range header it cannot read, get the whole file (200), which RFC 9110 allows: the preboot's
 *   wget resumes with one open range, and nothing inetboot runs asks for more than one.
 * - ETag (size and mtime in nanoseconds: a file rewritten within the same second still gets a
 *   new one) and Last-Modified; If-None-Match (or, without it, If-Modified-Since) gives 304;
 *   If-Range that does not match gives the whole file. Cache-Control: no-cache, since the
 *   files served here change between tries.
 * - The path never leaves DIR: it is percent-decoded once, then split; a `..` segment (raw, or
 *   decoded from %2e%2e or %2f..) is 403; a NUL byte or bad percent-encoding is 400; a
 *   symbolic link is followed only when its target is inside DIR (else 403). `//etc/passwd`
 *   and `/%2fetc/passwd` name DIR/etc/passwd (404 unless DIR has one).
 * - A directory is a plain-text listing, one name a line, subdirectories ending in `/`; plain
 *   text so that no name can be markup. Anything that is neither a regular file nor a
 *   directory (a FIFO, a device) is 404.
 * - Every response carries Content-Length (HEAD: the one GET would have), except 304, which
 *   has no body.
 * - One access-log entry per request, handed to onRequest: method, path, status, body bytes
 *   sent. The server itself never prints.
 */
import { constants, type Stats } from 'node:fs';
import { open, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { OperationError, UsageError } from '../errors.js';

/** The only address the server listens on. */
export const SERVE_HOST = '127.0.0.1';
/** This machine's 127.0.0.1, as a QEMU guest with user networking (slirp) sees it. */
export const GUEST_HOST = '10.0.2.2';
/** The port of the URLs in examples/inetboot.yaml. */
export const DEFAULT_PORT = 8080;

export interface AccessLogEntry {
  method: string;
  /** The request target as it came, query included. */
  path: string;
  status: number;
  /** Body bytes written to the socket (0 for HEAD and 304). */
  bytes: number;
  /** The client went away before the whole body was sent. */
  aborted: boolean;
}

export interface StaticServerOptions {
  root: string;
  /** 0: any free port. */
  port: number;
  onRequest?: (entry: AccessLogEntry) => void;
}

export interface StaticServer {
  port: number;
  /** The directory served, with its symbolic links resolved. */
  root: string;
  /** http://127.0.0.1:PORT/ */
  url: string;
  /** http://10.0.2.2:PORT/ */
  guestUrl: string;
  /** Stops listening and ends every open connection. */
  close(): Promise<void>;
}

export async function startStaticServer(opts: StaticServerOptions): Promise<StaticServer> {
  const root = await checkRoot(opts.root);
  const server = createServer((req, res) => {
    handle(root, req, res, opts.onRequest).catch((err: unknown) => {
      // A bug or an I/O error after the checks (a disk error): the client gets a 500 if nothing was sent yet.
      if (!res.headersSent) sendText(req, res, 500, `internal error: ${(err as Error).message}\n`);
      else res.destroy();
    });
  });
  await listen(server, opts.port);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    port,
    root,
    url: `http://${SERVE_HOST}:${port}/`,
    guestUrl: `http://${GUEST_HOST}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // close() alone waits for keep-alive connections to go idle and time out.
        server.closeAllConnections();
      }),
  };
}

async function checkRoot(dir: string): Promise<string> {
  let st: Stats;
  try {
    st = await stat(dir);
  } catch {
    throw new UsageError(`${dir} does not exist: name the directory to serve`);
  }
  if (!st.isDirectory()) throw new UsageError(`${dir} is not a directory: name the directory to serve (inetboot serve DIR)`);
  return realpath(dir);
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new OperationError(`port ${port} on ${SERVE_HOST} is in use by another program`, { hint: `choose another with --port N, or --port 0 for any free one` }));
      } else if (err.code === 'EACCES') {
        reject(new OperationError(`not allowed to listen on port ${port} (ports below 1024 need root)`, { hint: 'choose a port from 1024 up with --port N, or --port 0 for any free one' }));
      } else {
        reject(new OperationError(`cannot listen on ${SERVE_HOST}:${port}: ${err.message}`, { cause: err }));
      }
    };
    server.once('error', onError);
    server.listen({ host: SERVE_HOST, port, exclusive: true }, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
}

/** What a request path names inside DIR: its segments, or why it is refused. */
export type RequestPath = { ok: true; segments: string[] } | { ok: false; status: 400 | 403; why: string };

/**
 * Decodes the path of a request target. Decoding comes before splitting, so that an encoded
 * `/` (%2f) cannot hide a `..` inside one segment.
 */
export function requestPath(target: string): RequestPath {
  if (!target.startsWith('/')) return { ok: false, status: 400, why: 'the request target must be a path starting with /' };
  const raw = target.replace(/[?#].*$/s, '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return { ok: false, status: 400, why: 'bad percent-encoding in the path' };
  }
  if (decoded.includes('\0')) return { ok: false, status: 400, why: 'NUL in the path' };
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { ok: false, status: 403, why: '".." in the path' };
  return { ok: true, segments };
}

export type RangeResult = { kind: 'whole' } | { kind: 'unsatisfiable' } | { kind: 'part'; start: number; end: number };

/** One byte range of a file of `size` bytes (RFC 9110, 14.1.2); `end` is inclusive. */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  // Several ranges, another unit or bad syntax: a server may ignore the header.
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'part', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Infinity : Number(m[2]);
  if (last < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'part', start, end: Math.min(last, size - 1) };
}

const TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
  '.cfg': 'text/plain; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.iso': 'application/x-iso9660-image',
};

function contentType(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/** If-None-Match: a list of entity tags, or `*`; compared weakly (a W/ prefix is ignored). */
function noneMatch(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/** Seconds since the epoch, as HTTP dates carry them. */
const httpSeconds = (ms: number) => Math.floor(ms / 1000);

/** If-Range: the whole file unless it names this very version (a strong ETag, or the exact date). */
function ifRangeHolds(header: string | undefined, etag: string, lastModified: string): boolean {
  if (header === undefined) return true;
  const v = header.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return v === etag;
  return v === lastModified;
}

async function handle(root: string, req: IncomingMessage, res: ServerResponse, onRequest?: (e: AccessLogEntry) => void): Promise<void> {
  const method = req.method ?? '';
  const target = req.url ?? '';
  let bytes = 0;
  res.on('close', () => onRequest?.({ method, path: target, status: res.statusCode, bytes, aborted: !res.writableFinished }));
  const count = (n: number) => (bytes += n);

  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return sendText(req, res, 405, `${method} is not served here: GET and HEAD only\n`, count);
  }
  const p = requestPath(target);
  if (!p.ok) return sendText(req, res, p.status, `${p.why}\n`, count);

  let real: string;
  try {
    real = await realpath(join(root, ...p.segments));
  } catch {
    return sendText(req, res, 404, 'not found\n', count);
  }
  if (real !== root && !real.startsWith(root.endsWith(sep) ? root : root + sep)) return sendText(req, res, 403, 'a symbolic link that leads out of the served directory\n', count);

  // O_NOFOLLOW: the last component cannot have become a link since realpath() looked.
  let file: FileHandle;
  try {
    file = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return sendText(req, res, 404, 'not found\n', count);
  }
  try {
    const st = await file.stat({ bigint: true });
    if (st.isDirectory()) return await sendListing(req, res, real, count);
    if (!st.isFile()) return sendText(req, res, 404, 'not a regular file\n', count);
    const size = Number(st.size);
    const etag = `"${st.size.toString(16)}-${st.mtimeNs.toString(16)}"`;
    const mtimeMs = Number(st.mtimeMs);
    const lastModified = new Date(httpSeconds(mtimeMs) * 1000).toUTCString();
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', lastModified);
    res.setHeader('Cache-Control', 'no-cache');

    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    const notModified = inm !== undefined ? noneMatch(inm, etag) : ims !== undefined && !Number.isNaN(Date.parse(ims)) && httpSeconds(mtimeMs) <= httpSeconds(Date.parse(ims));
    if (notModified) {
      res.statusCode = 304;
      res.end();
      return;
    }

    let range = parseRange(req.headers.range, size);
    if (range.kind !== 'whole' && !ifRangeHolds(req.headers['if-range'] as string | undefined, etag, lastModified)) range = { kind: 'whole' };
    if (range.kind === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${size}`);
      return sendText(req, res, 416, `the range is outside the file (${size} bytes)\n`, count);
    }
    const [start, end] = range.kind === 'part' ? [range.start, range.end] : [0, size - 1];
    res.statusCode = range.kind === 'part' ? 206 : 200;
    if (range.kind === 'part') res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    res.setHeader('Content-Type', contentType(real));
    res.setHeader('Content-Length', String(end - start + 1));
    if (method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    await streamFile(file, start, end, res, count);
  } finally {
    await file.close();
  }
}

/** Streams [start, end] of the open file; a file that shrank meanwhile ends the connection, as its Content-Length can no longer be met. */
function streamFile(file: FileHandle, start: number, end: number, res: ServerResponse, count: (n: number) => number): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = file.createReadStream({ start, end, autoClose: false });
    let sent = 0;
    stream.on('data', (chunk: string | Buffer) => {
      sent += chunk.length;
      if (!res.write(chunk, (err) => void (err ? 0 : count(chunk.length)))) stream.pause();
    });
    res.on('drain', () => stream.resume());
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.on('error', (err) => {
      res.destroy();
      reject(err);
    });
    stream.on('end', () => {
      if (sent !== end - start + 1) res.destroy();
      else res.end(resolve);
    });
  });
}

async function sendListing(req: IncomingMessage, res: ServerResponse, dir: string, count: (n: number) => number): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
  sendText(req, res, 200, names.map((n) => `${n}\n`).join(''), count);
}

function sendText(req: IncomingMessage, res: ServerResponse, status: number, text: string, count?: (n: number) => number): void {
  const body = Buffer.from(text, 'utf8');
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', String(body.length));
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.end(body, () => count?.(body.length));
}

/** A path for a log line: bytes a terminal would act on (escape sequences, newlines) are %-escaped. */
function printable(s: string): string {
  return s.replace(/[^\x21-\x7e]/gu, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

/** The access-log line of one request: `GET /root.json 200 1234` (with `aborted` when the client left early). */
export function formatAccessLine(e: AccessLogEntry): string {
  return `${printable(e.method)} ${printable(e.path)} ${e.status} ${e.bytes}${e.aborted ? ' aborted' : ''}`;
}
