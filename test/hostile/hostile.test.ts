/**
 * Runs the hostile-input table (test/hostile/cases.ts): every refused row through the CLI with
 * its exact exit code and message; every accepted row into one config, one ISO built by the
 * real pipeline, and grub.cfg and the entry data read back out of it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { grubMenuTitle } from '../../src/quote.js';
import { readNewc } from '../../src/pipeline/cpio.js';
import { cli } from '../helpers/cli.js';
import { isoExtract } from '../helpers/iso.js';
import { outputDir } from '../helpers/paths.js';
import { ACCEPTED, ACCEPTED_TOP, REFUSED, type RefusedCase } from './cases.js';
import { makeTestCa } from '../helpers/tls.js';
import { scaled } from '../helpers/timeouts.js';

const OUT = outputDir('hostile');

describe('the table', () => {
  it('has at least 40 rows, of every kind', () => {
    expect(REFUSED.length + ACCEPTED.length).toBeGreaterThanOrEqual(40);
    expect(new Set([...REFUSED, ...ACCEPTED].map((c) => c.kind))).toEqual(new Set(['yaml', 'encoding', 'title', 'id', 'url', 'cmdline', 'path', 'size', 'option']));
    const names = [...REFUSED, ...ACCEPTED].map((c) => c.name);
    expect(names.length).toBe(new Set(names).size);
  });
});

describe('refused: the exact exit code and message, and nothing written', () => {
  beforeAll(async () => {
    const files = join(OUT, 'files');
    mkdirSync(files, { recursive: true });
    // A certificate with its private key in the same file.
    const ca = await makeTestCa(join(OUT, 'ca'));
    const { cert, key } = await ca.cert('hostile', 'IP:127.0.0.1');
    writeFileSync(join(files, 'key.pem'), readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'));
    writeFileSync(join(files, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
  });

  REFUSED.forEach((c: RefusedCase, i) => {
    it(`${c.kind}: ${c.name}`, async () => {
      const dir = join(OUT, 'refused', String(i));
      mkdirSync(dir, { recursive: true });
      const config = join(dir, 'inetboot.yaml');
      const sub = (s: string) => s.replaceAll('CONFIG', config).replaceAll('DIR', c.name.includes('tls.ca_bundle') ? join(OUT, 'files') : dir);
      if (c.config !== undefined) writeFileSync(config, typeof c.config === 'string' ? sub(c.config) : c.config);
      const before = c.config === undefined ? undefined : readFileSync(config);
      const r = await cli(...(c.args ?? ['menu', '-c', 'CONFIG']).map(sub));
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: c.code, stderr: sub(c.stderr), stdout: '' });
      if (before) expect(readFileSync(config).equals(before)).toBe(true);
    });
  });
});

describe('accepted: byte-identical in grub.cfg and in the entry data inside the built ISO', () => {
  const ids = ACCEPTED.map((c, i) => c.id ?? `a${i}`);
  let grubCfg = '';
  let data = new Map<string, Buffer>();

  beforeAll(async () => {
    const dir = join(OUT, 'accepted');
    mkdirSync(dir, { recursive: true });
    const config = join(dir, 'inetboot.yaml');
    writeFileSync(config, `${ACCEPTED_TOP}entries:\n${ACCEPTED.map((c, i) => `  - id: ${ids[i]}\n${c.entry}`).join('')}`);
    const iso = join(dir, 'accepted.iso');
    const r = await cli('build-iso', '-c', config, '-o', iso);
    expect(r.code, r.stderr).toBe(0);
    grubCfg = (await isoExtract(iso, '/boot/grub/grub.cfg')).toString('utf8');
    writeFileSync(join(dir, 'grub.cfg'), grubCfg);
    const entries = readNewc(gunzipSync(await isoExtract(iso, '/boot/inetboot/preboot.img')));
    data = new Map(entries.filter((e) => e.type === 'file').map((e) => [e.path, e.data]));
  }, scaled(300_000));

  it('grub-script-check accepts the generated grub.cfg', async () => {
    const r = await execa('grub-script-check', [join(OUT, 'accepted', 'grub.cfg')], { reject: false });
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
  });

  it('an upper-case HTTPS:// URL still brings openssl and the CA bundle into the preboot', () => {
    expect(data.has('usr/bin/openssl')).toBe(true);
    expect(data.get('etc/inetboot/tls/ca.pem')?.toString('latin1')).toContain('-----BEGIN CERTIFICATE-----');
  });

  it('the proxy is written with a lower-case scheme', () => {
    expect(data.get('etc/inetboot/net/proxy')?.toString('utf8')).toBe('http://10.0.2.2:3128');
  });

  ACCEPTED.forEach((c, i) => {
    it(`${c.kind}: ${c.name}`, () => {
      const id = ids[i]!;
      const title = data.get(`etc/inetboot/entries/${id}/title`)?.toString('utf8') ?? '';
      // The title reaches GRUB single-quoted, every other byte as it is.
      expect(grubCfg.split('\n')).toContain(`menuentry ${grubMenuTitle(title)} --id ${id} {`);
      for (const [field, want] of Object.entries(c.data)) {
        const got = data.get(`etc/inetboot/entries/${id}/${field}`);
        expect(got?.equals(Buffer.from(want, 'utf8')), `${field}: ${JSON.stringify(got?.toString('utf8'))}`).toBe(true);
      }
    });
  });
});
