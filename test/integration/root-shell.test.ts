/**
 * The preboot's side of a published root (lib/inetboot/root.sh), run by the real BusyBox sh:
 * its manifest parser accepts exactly what the TypeScript one (src/pipeline/publish/manifest.ts
 * parseManifest) accepts, over the canonical manifest and thousands of hostile edits of it; the
 * base URLs the other files are fetched from; and the initrd it hands the root's kernel (the
 * miniroot, padded to 4 bytes, then a newc archive with the network and the sources). The boot
 * itself: test/boot/root.test.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readNewc } from '../../src/pipeline/cpio.js';
import { parseManifest, renderManifest, type RootManifest } from '../../src/pipeline/publish/manifest.js';
import { prebootSh } from '../helpers/preboot-shell.js';
import { testTempDir } from '../helpers/temp.js';

const dir = testTempDir('inetboot-root-shell-');
const hex = (c: string) => c.repeat(64);

const GOOD: RootManifest = {
  image_bytes: 226656256,
  block_size: 262144,
  blocks: 865,
  kernel: { path: `kernel/${hex('a')}`, sha256: hex('a'), size: 8222656 },
  miniroot: { path: `miniroot/${hex('b')}`, sha256: hex('b'), size: 13765728 },
  index: { path: `index/${hex('c')}`, sha256: hex('c'), size: 32 + 48 * 865 },
  profile: { path: `profile/${hex('e')}`, sha256: hex('e'), size: 16 + 4 * 140 },
};
const NO_PROFILE: RootManifest = { ...GOOD, profile: null };

/** Runs root_manifest over each text in one shell; returns each one's status and fields. */
async function shellParse(texts: readonly string[]): Promise<{ ok: boolean; fields: string; out: string }[]> {
  const run = mkdtempSync(join(dir, 'run-'));
  texts.forEach((t, i) => writeFileSync(join(run, `m${i}`), t, 'latin1'));
  const r = await prebootSh(
    `IB_RUN=$1; n=$2; i=0
while [ "$i" -lt "$n" ]; do
  if root_manifest "$IB_RUN/m$i" "$IB_RUN/f$i" >"$IB_RUN/o$i" 2>&1; then echo ok >"$IB_RUN/s$i"; else echo no >"$IB_RUN/s$i"; fi
  i=$((i + 1))
done`,
    { args: [run, String(texts.length)] },
  );
  expect(r.code, r.all).toBe(0);
  const read = (name: string) => (existsSync(join(run, name)) ? readFileSync(join(run, name), 'utf8') : '');
  return texts.map((_, i) => ({ ok: read(`s${i}`).trim() === 'ok', fields: read(`f${i}`), out: read(`o${i}`) }));
}

const tsAccepts = (t: string) => {
  try {
    parseManifest(t);
    return true;
  } catch {
    return false;
  }
};

/** The fields root_manifest writes, from a manifest the TypeScript parser accepted. */
const expectedFields = (m: RootManifest) =>
  [
    `manifest image_bytes ${m.image_bytes}`,
    `manifest block_size ${m.block_size}`,
    `manifest blocks ${m.blocks}`,
    ...(['kernel', 'miniroot', 'index', 'profile'] as const).flatMap((k) => {
      const f = m[k];
      return f ? [`${k} path ${f.path}`, `${k} sha256 ${f.sha256}`, `${k} size ${f.size}`] : [];
    }),
    '',
  ].join('\n');

describe('root_manifest (BusyBox sh) against parseManifest', () => {
  it('reads the manifest publish writes, every value, with a boot profile and without', async () => {
    const [r, n] = await shellParse([renderManifest(GOOD), renderManifest(NO_PROFILE)]);
    expect(r!.ok, r!.out).toBe(true);
    expect(r!.fields).toBe(expectedFields(GOOD));
    expect(r!.out).toBe('inetboot: root: 226656256 bytes in 865 blocks of 262144 on average, with a boot profile\n');
    expect(n!.ok, n!.out).toBe(true);
    expect(n!.fields).toBe(expectedFields(NO_PROFILE));
    expect(n!.out).toBe('inetboot: root: 226656256 bytes in 865 blocks of 262144 on average\n');
  });

  it('refuses what a hostile server could send, saying what is wrong', async () => {
    const good = renderManifest(GOOD);
    const cases: [string, string, RegExp][] = [
      ['truncated', good.slice(0, good.length - 40), /ends early|line break|line 8/],
      ['no final newline', good.slice(0, -1), /line break/],
      ['a line too many', `${good}\n`, /one line too many/],
      ['path leaving the tree', good.replace(`"path": "kernel/${hex('a')}"`, `"path": "../../${hex('a')}"`), /line 6/],
      ['path of another hash', good.replace(`"path": "kernel/${hex('a')}"`, `"path": "kernel/${hex('d')}"`), /own sha256/],
      ['huge kernel', good.replace('"size": 8222656', '"size": 999999999999'), /more than the preboot can hold/],
      ['huge image', good.replace('226656256', '99999999999999999'), /more than|whole number/],
      ['blocks off by one', good.replace('"blocks": 865', '"blocks": 866'), /index size does not match/],
      ['fewer bytes than blocks', good.replace('226656256', '864'), /block count does not match/],
      ['other format', good.replace('inetboot-root-2', 'inetboot-root-1'), /format/],
      ['image larger than its blocks can hold', good.replace('226656256', String(865 * 4194304 + 1)), /block count does not match/],
      ['profile of more blocks than the image', good.replace('"size": 576', `"size": ${16 + 4 * 866}`), /profile size/],
      ['profile of half a block', good.replace('"size": 576', '"size": 578'), /profile size/],
      ['profile path of another kind', good.replace(`"path": "profile/${hex('e')}"`, `"path": "index/${hex('e')}"`), /line 9/],
      ['profile with a comma', good.replace(/}\n}\n$/, '},\n}\n'), /line 9/],
      ['CRLF', good.replace(/\n/g, '\r\n'), /layout|line/],
      ['too long', good + ' '.repeat(5000), /more than a manifest can be/],
      ['empty', '', /ends early/],
      ['upper-case hash', good.replace(new RegExp(hex('a'), 'g'), hex('A')), /line 6/],
      ['shell in a value', good.replace('"size": 8222656', '"size": $(reboot)'), /line 6/],
    ];
    const results = await shellParse(cases.map((c) => c[1]));
    cases.forEach(([name, text, why], i) => {
      // A kernel of 1 TB is well-formed; only the preboot, which holds it in RAM, refuses it.
      expect(tsAccepts(text), name).toBe(name === 'huge kernel');
      expect(results[i]!.ok, `${name}: ${results[i]!.out}`).toBe(false);
      expect(results[i]!.out, name).toMatch(why);
    });
  });

  it('accepts exactly what parseManifest accepts, over random edits of a manifest', async () => {
    const good = renderManifest(GOOD);
    const bare = renderManifest(NO_PROFILE);
    // Edits that keep most of the layout, so that many reach the value checks.
    const edit = fc.oneof(
      fc.tuple(fc.nat(good.length), fc.nat(4), fc.constantFrom('', '0', '9', '"', ',', ' ', '\n', '}', '{', '/', '..', 'a', 'f', '-', '+', 'e', '.')).map(([at, cut, ins]) => (t: string) => t.slice(0, at) + ins + t.slice(at + cut)),
      fc.tuple(
        fc.constantFrom('226656256', '262144', '865', '8222656', '13765728', '41552', '576'),
        fc.oneof(fc.nat(), fc.constantFrom(0, 1, 20, 21, 3476, 3480, 1048576, 1048577, 2 ** 46, 2 ** 46 + 1, 4194304, 4194305, 865 * 4194304, 865 * 4194304 + 1, 2 ** 24, 2 ** 24 + 1, 536870912, 536870913)),
      ).map(
        ([from, to]) => (t: string) => t.replace(from, String(to)),
      ),
    );
    const texts = fc
      .sample(fc.tuple(fc.boolean(), fc.array(edit, { minLength: 1, maxLength: 3 })), { numRuns: 600, seed: 20261202 })
      .map(([profile, edits]) => edits.reduce((t, e) => e(t), profile ? good : bare));
    const results = await shellParse(texts);
    let accepted = 0;
    texts.forEach((t, i) => {
      let ts: RootManifest | undefined;
      try {
        ts = parseManifest(t);
      } catch {
        ts = undefined;
      }
      // The preboot also refuses a kernel or miniroot it cannot hold (512 MiB): the one rule
      // the TypeScript parser, which reads manifests on a build machine, does not have.
      const preboot = ts !== undefined && ts.kernel.size <= 536870912 && ts.miniroot.size <= 536870912 ? ts : undefined;
      expect(results[i]!.ok, `${JSON.stringify(t)}\n${results[i]!.out}`).toBe(preboot !== undefined);
      if (preboot) {
        accepted++;
        expect(results[i]!.fields).toBe(expectedFields(preboot));
      }
    });
    // The sample must reach both answers, or it proves little.
    expect(accepted).toBeGreaterThan(20);
    expect(texts.length - accepted).toBeGreaterThan(200);
  });
});

describe('root_sources and root_initrd (BusyBox sh)', () => {
  it('takes the base URL of each manifest URL', async () => {
    const urls = ['http://10.0.2.2:8080/debian12/root.json', 'https://10.0.2.2:8443/a/b/root.json?x=1/2', 'http://10.0.2.2/root.json', ''];
    writeFileSync(join(dir, 'urls'), urls.map((u) => `${u}\n`).join(''));
    const r = await prebootSh('root_sources "$1"', { args: [join(dir, 'urls')] });
    expect(r.code, r.all).toBe(0);
    expect(r.stdout.split('\n')).toEqual(['http://10.0.2.2:8080/debian12/', 'https://10.0.2.2:8443/a/b/', 'http://10.0.2.2/']);
  });

  it('hands the miniroot the network and the sources in a newc archive at a 4-byte boundary', async () => {
    const run = mkdtempSync(join(dir, 'initrd-'));
    mkdirSync(join(run, 'net'));
    // The preboot's network as net.sh remembers it; lo stands in for the card (its MAC is 0s).
    writeFileSync(join(run, 'net', 'interface'), 'lo\n');
    writeFileSync(join(run, 'net', 'address'), '10.0.2.15/24\n');
    writeFileSync(join(run, 'net', 'gateway'), '10.0.2.2\n');
    writeFileSync(join(run, 'net', 'dns'), '10.0.2.3\n');
    writeFileSync(join(run, 'proxy'), 'http://10.0.2.2:3128\n');
    writeFileSync(join(run, 'root.fields'), `index sha256 ${hex('c')}\nindex size 34632\nprofile sha256 ${hex('e')}\nprofile size 576\n`);
    writeFileSync(join(run, 'sources'), 'http://10.0.2.2:8080/debian12/\nhttp://10.0.2.2:8081/debian12/\n');
    const miniroot = Buffer.from('not really a miniroot, 37 bytes long.');
    writeFileSync(join(run, 'miniroot'), miniroot);
    const r = await prebootSh('IB_RUN=$1; root_initrd "$1/sources" "$1/miniroot"', { args: [run] });
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toContain('handing the network (lo 00:00:00:00:00:00, 10.0.2.15/24) and 2 source(s) to the miniroot');
    // In place: the miniroot file itself becomes the initrd.
    const initrd = readFileSync(join(run, 'miniroot'));
    expect(initrd.subarray(0, 37)).toEqual(miniroot);
    expect(initrd.subarray(37, 40)).toEqual(Buffer.alloc(3));
    const files = Object.fromEntries(readNewc(initrd.subarray(40)).filter((e) => e.type === 'file').map((e) => [e.path, e.data?.toString('utf8')]));
    expect(files).toEqual({
      'etc/inetboot/root/sources': 'http://10.0.2.2:8080/debian12/\nhttp://10.0.2.2:8081/debian12/\n',
      'etc/inetboot/root/index_sha256': `${hex('c')}\n`,
      'etc/inetboot/root/index_size': '34632\n',
      'etc/inetboot/root/profile_sha256': `${hex('e')}\n`,
      'etc/inetboot/root/profile_size': '576\n',
      'etc/inetboot/root/mac': '00:00:00:00:00:00\n',
      'etc/inetboot/root/address': '10.0.2.15/24\n',
      'etc/inetboot/root/gateway': '10.0.2.2\n',
      'etc/inetboot/root/dns': '10.0.2.3\n',
      'etc/inetboot/root/proxy': 'http://10.0.2.2:3128\n',
    });
  });

  it('refuses an https:// root when the preboot has no CA bundle to hand on', async () => {
    const run = mkdtempSync(join(dir, 'tls-'));
    mkdirSync(join(run, 'net'));
    writeFileSync(join(run, 'net', 'interface'), 'lo\n');
    writeFileSync(join(run, 'net', 'address'), '10.0.2.15/24\n');
    writeFileSync(join(run, 'root.fields'), `index sha256 ${hex('c')}\nindex size 34632\n`);
    writeFileSync(join(run, 'sources'), 'https://10.0.2.2:8443/debian12/\n');
    writeFileSync(join(run, 'miniroot'), 'x');
    const r = await prebootSh('IB_RUN=$1; IB_TLS_DATA=$1/no-tls; root_initrd "$1/sources" "$1/miniroot"', { args: [run] });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('has no CA bundle');
  });
});
