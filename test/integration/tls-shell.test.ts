/**
 * ib_wget (lib/inetboot/http.sh) and its openssl wrapper (/usr/libexec/inetboot/openssl) run by the
 * real BusyBox sh/wget and openssl on this machine, against nginx with TLS and tinyproxy on
 * 127.0.0.1: the certificate checks of test/boot/https.test.ts in seconds, plus HTTPS through a
 * proxy (an HTTP CONNECT tunnel that wget itself cannot make). On this machine the wrapper's
 * /etc/inetboot/tls/ca.pem does not exist, so the test CA comes from SSL_CERT_FILE, openssl's
 * default CA file.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/run.js';
import { PREBOOT_OVERLAY } from '../../src/paths.js';
import { startNginx, type NginxServer } from '../helpers/nginx.js';
import { startTinyproxy, type Service } from '../helpers/netservers.js';
import { freePort } from '../helpers/ports.js';
import { outputDir } from '../helpers/paths.js';
import { scaled } from '../helpers/timeouts.js';

const LIB = join(PREBOOT_OVERLAY, 'lib/inetboot');
const WRAPPER_DIR = join(PREBOOT_OVERLAY, 'usr/libexec/inetboot');
const DIR = 'tls-shell';
let pki: string;
let good: NginxServer;
let wrong: NginxServer;
let proxy: Service;

beforeAll(async () => {
  pki = join(outputDir(DIR), 'pki');
  rmSync(pki, { recursive: true, force: true });
  mkdirSync(pki, { recursive: true });
  const www = join(outputDir(DIR), 'www');
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, 'file'), 'the file\n');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(pki, 'ca.key'), '-out', join(pki, 'ca.pem'), '-days', '30', '-subj', '/CN=inetboot test CA']);
  const cert = async (name: string, san: string) => {
    writeFileSync(join(pki, `${name}.ext`), `subjectAltName=${san}\n`);
    await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(pki, `${name}.key`), '-out', join(pki, `${name}.csr`), '-subj', `/CN=${name}`]);
    await run('openssl', ['x509', '-req', '-in', join(pki, `${name}.csr`), '-CA', join(pki, 'ca.pem'), '-CAkey', join(pki, 'ca.key'), '-CAcreateserial', '-out', join(pki, `${name}.pem`), '-days', '30', '-extfile', join(pki, `${name}.ext`)]);
    return { cert: join(pki, `${name}.pem`), key: join(pki, `${name}.key`) };
  };
  good = await startNginx({ root: www, name: `${DIR}-good`, tls: await cert('good', 'IP:127.0.0.1') });
  wrong = await startNginx({ root: www, name: `${DIR}-wrong`, tls: await cert('wrong', 'IP:127.0.0.9') });
  proxy = await startTinyproxy({ name: `${DIR}-tinyproxy`, port: await freePort(), connectPorts: [good.port] });
}, 60_000);

afterAll(async () => {
  await good?.stop();
  await wrong?.stop();
  await proxy?.stop();
});

/** ib_wget URL in a fresh run directory; returns its status, stderr and the file. */
async function ibWget(url: string, opts: { proxy?: string } = {}) {
  const runDir = mkdtempSync(join(tmpdir(), 'inetboot-tls-'));
  if (opts.proxy) writeFileSync(join(runDir, 'proxy'), `${opts.proxy}\n`);
  const script = `. "$1/http.sh"; IB_TLS_BIN=$4; IB_RUN=$2; ib_wget "$3" "$2/out" -q`;
  const r = await execa('busybox', ['sh', '-c', script, 'sh', LIB, runDir, url, WRAPPER_DIR], {
    reject: false,
    timeout: scaled(30_000),
    env: { SSL_CERT_FILE: join(pki, 'ca.pem') },
  });
  let body: string | undefined;
  try {
    body = readFileSync(join(runDir, 'out'), 'utf8');
  } catch {
    body = undefined;
  }
  return { code: r.exitCode, stderr: r.stderr, body };
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
