/**
 * A real nginx serving a directory on 127.0.0.1 for the tests; QEMU guests with user
 * networking reach it as http://10.0.2.2:PORT. Never listens anywhere but loopback.
 *
 * nginx quirks handled here (Debian nginx 1.22):
 * - Debian's build writes to /var/log/nginx/error.log before it reads any config, and keeps
 *   temp files under /var/lib/nginx: `-e` and the *_temp_path directives move both into the
 *   prefix, so nothing outside test-output/ is touched.
 * - `master_process off`: one process, no workers. A master run as root would start its
 *   workers as `nobody`, who cannot read a 0700 mkdtemp directory, and killing only the
 *   master could leave workers holding the port. One process is enough for tests.
 * - The free port is found by binding port 0 and closing it; another process can take it in
 *   between, so a failed bind ("Address already in use") is retried with a new port.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { spawnLong, type LongProcess } from '../../src/exec/run.js';
import { outputDir } from './paths.js';
import { scaled } from './timeouts.js';
import { freePort } from './ports.js';

export const NGINX = '/usr/sbin/nginx';

export interface NginxServer {
  port: number;
  /** http://10.0.2.2:PORT: the address a QEMU guest with user networking uses. */
  baseUrlForGuest: string;
  /** http://127.0.0.1:PORT/path: the address this process uses. */
  url(path: string): string;
  stop(): Promise<void>;
  accessLog: string;
  errorLog: string;
}

const BIND_ATTEMPTS = 5;

/** tls: serve HTTPS with this certificate chain and key (PEM files); baseUrlForGuest is then https://. */
/** port: this one (a server started again where a medium expects it); default: a free one. */
/** requestTimes: the access log also gives each request's $request_time and end (accessLogRequests' seconds, endMs). */
/** server: the http {} block's server part instead of the default one, given the port (it must listen on 127.0.0.1 only; root is then unused). */
export async function startNginx(opts: { root: string; name: string; tls?: { cert: string; key: string }; port?: number; requestTimes?: boolean; server?: (port: number) => string }): Promise<NginxServer> {
  const dir = outputDir(opts.name);
  const prefix = join(dir, 'nginx-prefix');
  mkdirSync(prefix, { recursive: true });
  const accessLog = join(dir, 'access.log');
  const errorLog = join(dir, 'error.log');
  const root = resolve(opts.root);
  // One run per log: a test that reads the access log sees only its own requests.
  writeFileSync(accessLog, '');
  writeFileSync(errorLog, '');

  let lastError = '';
  for (let attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
    const port = opts.port ?? (await freePort());
    const conf = join(prefix, 'nginx.conf');
    writeFileSync(conf, nginxConfig({ port, root, prefix, accessLog, errorLog, tls: opts.tls, requestTimes: opts.requestTimes, server: opts.server?.(port) }));
    const proc = spawnLong(NGINX, ['-e', errorLog, '-p', prefix + '/', '-c', conf], { pkg: 'nginx' });
    let stderr = '';
    proc.child.stderr.setEncoding('utf8');
    proc.child.stderr.on('data', (s: string) => (stderr += s));
    // If a test forgets stop() or the run is cut short, do not leave nginx behind.
    const onExit = () => proc.child.kill('SIGKILL');
    process.once('exit', onExit);

    const ready = await waitReady(proc, port, scaled(10_000), opts.tls !== undefined);
    if (ready === 'ready') {
      return {
        port,
        baseUrlForGuest: `${opts.tls ? 'https' : 'http'}://10.0.2.2:${port}`,
        url: (path) => `http://127.0.0.1:${port}/${path.replace(/^\/+/, '')}`,
        accessLog,
        errorLog,
        stop: async () => {
          await proc.stop({ signal: 'SIGTERM', graceMs: scaled(5_000) });
          process.removeListener('exit', onExit);
        },
      };
    }
    process.removeListener('exit', onExit);
    // A missing nginx binary rejects here with MissingToolError, which names the package.
    await proc.stop({ signal: 'SIGKILL' });
    lastError = `${stderr}\n${readOr(errorLog)}`.trim();
    if (ready === 'timeout' || !/Address already in use/.test(lastError)) {
      throw new Error(`nginx did not start (${ready}) on 127.0.0.1:${port}:\n${tail(lastError)}\nconfig: ${conf}`);
    }
  }
  throw new Error(`nginx could not bind a free port in ${BIND_ATTEMPTS} attempts:\n${tail(lastError)}`);
}

/** A quoted nginx string: nginx reads double-quoted strings, but `$` still expands variables in `root`. */
export function q(value: string): string {
  if (/["$\\\n\r]/.test(value)) throw new Error(`path not usable in an nginx config: ${value}`);
  return `"${value}"`;
}

function nginxConfig(c: { port: number; root: string; prefix: string; accessLog: string; errorLog: string; tls?: { cert: string; key: string }; requestTimes?: boolean; server?: string }): string {
  const listen = c.tls ? `${c.port} ssl;\n    ssl_certificate ${q(resolve(c.tls.cert))};\n    ssl_certificate_key ${q(resolve(c.tls.key))}` : `${c.port}`;
  const temp = (name: string) => q(join(c.prefix, name));
  return `# generated by test/helpers/nginx.ts
daemon off;
master_process off;
worker_processes 1;
pid ${q(join(c.prefix, 'nginx.pid'))};
error_log ${q(c.errorLog)} info;
events { worker_connections 256; }
http {
  ${c.requestTimes ? `# $request_time: from the request's first byte to the response's last byte handed to the
  # socket; $msec: when that was (Unix time, ms resolution).
  log_format timed '$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_time $msec';
  access_log ${q(c.accessLog)} timed;` : `access_log ${q(c.accessLog)};`}
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  default_type application/octet-stream;
  sendfile on;
${c.server ?? `  server {
    listen 127.0.0.1:${listen};
    server_name localhost;
    root ${q(c.root)};
    autoindex on;
  }`}
}
`;
}

/** Polls until nginx answers on the port (its `Server:` header, not just any listener). */
async function waitReady(proc: LongProcess, port: number, limitMs: number, tls = false): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + limitMs;
  let delay = 10;
  while (Date.now() < deadline) {
    if (!proc.running) return 'exited';
    // A TLS server with a test certificate: accepting on the port is proof enough.
    if (tls && (await accepts(port))) return 'ready';
    if (await accepts(port)) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'HEAD', signal: AbortSignal.timeout(2_000) });
        if ((res.headers.get('server') ?? '').startsWith('nginx')) return 'ready';
      } catch {
        // not yet
      }
    }
    const exited = await Promise.race([
      proc.exited.then(
        () => true,
        () => true,
      ),
      new Promise<false>((r) => setTimeout(() => r(false), delay)),
    ]);
    if (exited) return 'exited';
    delay = Math.min(delay * 2, 200);
  }
  return 'timeout';
}

/** True when something accepts a TCP connection on 127.0.0.1:port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((r) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      r(true);
    });
    sock.once('error', () => r(false));
  });
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function tail(text: string, n = 20): string {
  return text.split('\n').slice(-n).join('\n');
}

export interface AccessLogRequest {
  path: string;
  status: number;
  /** The body bytes nginx sent ($body_bytes_sent). */
  bytes: number;
  /** $request_time in seconds, when the server was started with requestTimes. */
  seconds?: number;
  /** When nginx finished the request ($msec, in Unix ms), with requestTimes. */
  endMs?: number;
}

/** The GET requests of an access log in nginx's default (combined) format, or the requestTimes one. */
export function accessLogRequests(file: string): AccessLogRequest[] {
  const out: AccessLogRequest[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /"GET (\S+) HTTP\/[0-9.]+" (\d{3}) (\d+)(?: (\d+\.\d+) (\d+\.\d+)$)?/.exec(line);
    if (m) out.push({ path: m[1]!, status: Number(m[2]), bytes: Number(m[3]), ...(m[4] === undefined ? {} : { seconds: Number(m[4]), endMs: Number(m[5]) * 1000 }) });
  }
  return out;
}
