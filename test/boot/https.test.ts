/**
 * HTTPS with real certificate checks: nginx with TLS on 127.0.0.1 (the guest's 10.0.2.2) and a
 * test CA made with openssl; the preboot carries openssl and the CA (tls.ca_bundle). A good
 * certificate boots; a wrong name and a self-signed certificate are refused, naming the reason;
 * tls_verify: false boots the self-signed server after a loud warning. Console logs under
 * test-output/https/.
 */
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPreboot, bootScenario, type BuiltPreboot } from '../helpers/preboot.js';
import { startNginx, type NginxServer } from '../helpers/nginx.js';
import { outputDir } from '../helpers/paths.js';
import { TARGET_MARKER, targetLine, writeTargetFiles } from '../helpers/target.js';
import { scaled } from '../helpers/timeouts.js';
import { makeTestCa, type TestCa } from '../helpers/tls.js';

const DIR = 'https';
const servers: NginxServer[] = [];
let good: NginxServer;
let wrongName: NginxServer;
let selfSigned: NginxServer;
let preboot: BuiltPreboot;
let ca: TestCa;

beforeAll(async () => {
  ca = await makeTestCa(join(outputDir(DIR), 'pki'));
  const makeCert = ca.cert;
  const target = await writeTargetFiles(join(outputDir(DIR), 'www'));
  // A second name for the same files: the opt-out entry must not share URLs with a checked one.
  for (const f of ['vmlinuz', 'target.img']) {
    rmSync(join(target.dir, `optout-${f}`), { force: true });
    symlinkSync(f, join(target.dir, `optout-${f}`));
  }
  good = await startNginx({ root: target.dir, name: `${DIR}-good`, tls: await makeCert('good', 'IP:10.0.2.2', 'ca') });
  servers.push(good);
  wrongName = await startNginx({ root: target.dir, name: `${DIR}-wrong-name`, tls: await makeCert('wrong-name', 'IP:10.0.2.99,DNS:wrong.inetboot.test', 'ca') });
  servers.push(wrongName);
  selfSigned = await startNginx({ root: target.dir, name: `${DIR}-self-signed`, tls: await makeCert('self-signed', 'IP:10.0.2.2', 'self') });
  servers.push(selfSigned);
  const entry = (id: string, base: string, prefix = '', extra: object = {}) => ({
    id,
    title: `HTTPS ${id}`,
    kernel: `${base}/${prefix}vmlinuz`,
    initrd: `${base}/${prefix}target.img`,
    append: `console=ttyS0 tls=${id}`,
    ...extra,
  });
  preboot = await buildPreboot(DIR, {
    tls: { ca_bundle: ca.caFile },
    entries: [
      entry('good', good.baseUrlForGuest),
      entry('wrong-name', wrongName.baseUrlForGuest),
      entry('self-signed', selfSigned.baseUrlForGuest),
      entry('optout', selfSigned.baseUrlForGuest, 'optout-', { tls_verify: false }),
    ],
  });
}, scaled(600_000));

afterAll(async () => {
  for (const s of servers) await s.stop();
});

describe('HTTPS', () => {
  it('a certificate from the configured CA for 10.0.2.2 (IP SAN) boots', async () => {
    const r = await bootScenario({ preboot, dir: DIR, name: 'good-cert', entry: 'good', expect: TARGET_MARKER });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain(`inetboot: downloading ${good.baseUrlForGuest}/vmlinuz`);
    expect(r.log).not.toContain('NOT checking');
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 tls=good');
  }, scaled(300_000));

  it('a certificate for another name is refused, and nothing is kexec\'d', async () => {
    const r = await bootScenario({ preboot, dir: DIR, name: 'wrong-name', entry: 'wrong-name', expect: 'boot stopped', failOn: [TARGET_MARKER] });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain(`inetboot: ERROR: download failed: ${wrongName.baseUrlForGuest}/vmlinuz: TLS certificate refused: IP address mismatch`);
    expect(r.log).not.toContain('loading kernel with command line');
  }, scaled(300_000));

  it('a self-signed certificate is refused', async () => {
    const r = await bootScenario({ preboot, dir: DIR, name: 'self-signed', entry: 'self-signed', expect: 'boot stopped', failOn: [TARGET_MARKER] });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain(`inetboot: ERROR: download failed: ${selfSigned.baseUrlForGuest}/vmlinuz: TLS certificate refused: self-signed certificate`);
    expect(r.log).not.toContain('loading kernel with command line');
  }, scaled(300_000));

  it('tls_verify: false boots the self-signed server, with a loud warning', async () => {
    const r = await bootScenario({ preboot, dir: DIR, name: 'opt-out', entry: 'optout', expect: TARGET_MARKER });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    const host = selfSigned.baseUrlForGuest.replace('https://', '');
    expect(r.log).toContain(`inetboot: WARNING: NOT checking the TLS certificate of ${host} (the entry says tls_verify: false): anyone on the way can read or replace this download`);
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 tls=optout');
  }, scaled(300_000));
});
