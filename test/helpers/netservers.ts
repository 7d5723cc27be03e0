/**
 * Real network services for the network boot scenarios, on 127.0.0.1 only:
 *   - tinyproxy (Debian tinyproxy), an HTTP proxy that forwards only to 127.0.0.1;
 *   - dnsmasq (Debian dnsmasq-base), a name server that knows only *.inetboot.test and has no
 *     upstream, so no name is ever looked up outside this machine.
 * The QEMU guest reaches both as 10.0.2.2 (slirp maps 10.0.2.2 to the host's loopback, UDP too).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { spawnLong, type LongProcess } from '../../src/exec/run.js';
import { accepts } from './nginx.js';
import { outputDir } from './paths.js';
import { scaled } from './timeouts.js';

export interface Service {
  port: number;
  log: string;
  readLog(): string;
  stop(): Promise<void>;
}

async function until(what: string, proc: LongProcess, check: () => Promise<boolean>, log: string): Promise<void> {
  const deadline = Date.now() + scaled(10_000);
  while (Date.now() < deadline) {
    if (!proc.running) break;
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  await proc.stop({ signal: 'SIGKILL' });
  throw new Error(`${what} did not start; its log ${log}:\n${readOr(log)}`);
}

function readOr(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

function service(proc: LongProcess, port: number, log: string): Service {
  const onExit = () => proc.child.kill('SIGKILL');
  process.once('exit', onExit);
  return {
    port,
    log,
    readLog: () => readOr(log),
    stop: async () => {
      await proc.stop({ signal: 'SIGTERM', graceMs: scaled(5_000) });
      process.removeListener('exit', onExit);
    },
  };
}

/** tinyproxy on 127.0.0.1:port, taking clients from 127.0.0.1 only and forwarding to 127.0.0.1 only. */
export async function startTinyproxy(opts: { name: string; port: number; connectPorts?: number[] }): Promise<Service> {
  const dir = outputDir(opts.name);
  const log = join(dir, 'tinyproxy.log');
  const filter = join(dir, 'filter');
  const conf = join(dir, 'tinyproxy.conf');
  writeFileSync(log, '');
  // Matched against the host of each request: anything but 127.0.0.1 is refused.
  writeFileSync(filter, '^127\\.0\\.0\\.1$\n');
  writeFileSync(
    conf,
    [
      `Port ${opts.port}`,
      'Listen 127.0.0.1',
      'Allow 127.0.0.1',
      'Timeout 60',
      'MaxClients 20',
      'LogLevel Info',
      `LogFile "${log}"`,
      `Filter "${filter}"`,
      'FilterExtended Yes',
      'FilterDefaultDeny Yes',
      // CONNECT (https:// through the proxy) only to these ports; none when the list is empty.
      ...(opts.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
      '',
    ].join('\n'),
  );
  const proc = spawnLong('tinyproxy', ['-d', '-c', conf], { pkg: 'tinyproxy' });
  await until('tinyproxy', proc, () => accepts(opts.port), log);
  return service(proc, opts.port, log);
}

/** dnsmasq on 127.0.0.1:53 answering NAME.inetboot.test with 10.0.2.2 and refusing every other name. */
export async function startDnsmasq(opts: { name: string }): Promise<Service> {
  const dir = outputDir(opts.name);
  const log = join(dir, 'dnsmasq.log');
  writeFileSync(log, '');
  const proc = spawnLong(
    'dnsmasq',
    [
      '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--no-poll', '--pid-file=',
      '--listen-address=127.0.0.1', '--bind-interfaces', '--port=53', '--user=root',
      '--address=/inetboot.test/10.0.2.2', '--log-queries', `--log-facility=${log}`,
    ],
    { pkg: 'dnsmasq-base' },
  );
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers(['127.0.0.1']);
  await until('dnsmasq', proc, async () => (await resolver.resolve4('ready.inetboot.test').catch((): string[] => [])).includes('10.0.2.2'), log);
  return service(proc, 53, log);
}

