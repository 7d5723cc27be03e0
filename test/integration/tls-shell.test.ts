/**
 * ib_wget (lib/inetboot/http.sh) and its openssl wrapper (/usr/libexec/inetboot/openssl) run by the
 * real BusyBox sh/wget and openssl on this machine, against nginx with TLS and tinyproxy on
 * 127.0.0.1: the certificate checks of test/boot/https.test.ts in seconds, plus HTTPS through a
 * proxy (an HTTP CONNECT tunnel that wget itself cannot make). On this machine the wrapper's
 * /etc/inetboot/tls/ca.pem does not exist, so the test CA comes from SSL_CERT_FILE, openssl's
 * default CA file.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREBOOT_OVERLAY } from '../../src/paths.js';
import { startNginx, type NginxServer } from '../helpers/nginx.js';
import { startTinyproxy, type Service } from '../helpers/netservers.js';
import { freePort } from '../helpers/ports.js';
import { outputDir } from '../helpers/paths.js';
import { prebootSh } from '../helpers/preboot-shell.js';
import { scaled } from '../helpers/timeouts.js';
import { makeTestCa, type TestCa } from '../helpers/tls.js';
import { testTempDir } from '../helpers/temp.js';

const WRAPPER_DIR = join(PREBOOT_OVERLAY, 'usr/libexec/inetboot');
const DIR = 'tls-shell';
let ca: TestCa;
let good: NginxServer;
let wrong: NginxServer;
let proxy: Service;

beforeAll(async () => {
  const www = join(outputDir(DIR), 'www');
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, 'file'), 'the file\n');
  ca = await makeTestCa(join(outputDir(DIR), 'pki'));
  good = await startNginx({ root: www, name: `${DIR}-good`, tls: await ca.cert('good', 'IP:127.0.0.1') });
  wrong = await startNginx({ root: www, name: `${DIR}-wrong`, tls: await ca.cert('wrong', 'IP:127.0.0.9') });
  proxy = await startTinyproxy({ name: `${DIR}-tinyproxy`, port: await freePort(), connectPorts: [good.port] });
}, scaled(60_000));

afterAll(async () => {
  await good?.stop();
  await wrong?.stop();
  await proxy?.stop();
});

/** ib_wget URL in a fresh run directory; returns its status, stderr and the file. */
async function ibWget(url: string, opts: { proxy?: string } = {}) {
  const runDir = testTempDir('inetboot-tls-');
  if (opts.proxy) writeFileSync(join(runDir, 'proxy'), `${opts.proxy}\n`);
  const r = await prebootSh('IB_TLS_BIN=$3; IB_RUN=$1; ib_wget "$2" "$1/out" -q', {
    libs: ['console', 'http'],
    args: [runDir, url, WRAPPER_DIR],
    timeoutMs: scaled(30_000),
    env: { SSL_CERT_FILE: ca.caFile },
  });
  let body: string | undefined;
  try {
    body = readFileSync(join(runDir, 'out'), 'utf8');
  } catch {
    body = undefined;
  }
  return { code: r.code, stderr: r.stderr, body };
}

describe('ib_wget over HTTPS (real BusyBox wget + openssl)', () => {
  it('an IP-literal URL with a matching certificate downloads (wget alone sends -verify_ip IP:PORT and fails)', async () => {
    const r = await ibWget(`https://127.0.0.1:${good.port}/file`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.body).toBe('the file\n');
  });

  it('a certificate for another address is refused with the reason as the last wget: line', async () => {
    const r = await ibWget(`https://127.0.0.1:${wrong.port}/file`);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toBe('wget: TLS certificate refused: IP address mismatch');
  });

  it('a closed port says "connection refused", not wget\'s "Connection reset by peer"', async () => {
    const r = await ibWget(`https://127.0.0.1:${await freePort()}/file`);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toBe('wget: connection refused');
  });

  it('HTTPS goes through the proxy as a CONNECT tunnel, with the certificate still checked', async () => {
    const r = await ibWget(`https://127.0.0.1:${good.port}/file`, { proxy: `http://127.0.0.1:${proxy.port}` });
    expect(r.code, r.stderr).toBe(0);
    expect(r.body).toBe('the file\n');
    expect(proxy.readLog()).toContain(`CONNECT 127.0.0.1:${good.port}`);
  });
});
