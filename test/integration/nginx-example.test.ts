/**
 * examples/nginx/inetboot.conf, as shipped, in the real nginx: its two marked lines replaced
 * with 127.0.0.1:PORT and a test tree laid out as `inetboot publish` writes one, inside the
 * http {} of test/helpers/nginx.ts with Debian's mime.types (what /etc/nginx/nginx.conf gives
 * the files of conf.d/). Checks byte ranges, the MIME types and the Cache-Control of each kind
 * of file.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { q, startNginx, type NginxServer } from '../helpers/nginx.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { scaled } from '../helpers/timeouts.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'nginx', 'inetboot.conf');
const IMMUTABLE = 'public, max-age=31536000, immutable';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The example with its marked lines set: each must be there exactly once. */
function templateExample(text: string, port: number, root: string): string {
  const marks: [RegExp, string][] = [
    [/^(\s*)listen 80;(\s*#.*)?$/m, `$1listen 127.0.0.1:${port};`],
    [/^(\s*)root \/srv\/inetboot;(\s*#.*)?$/m, `$1root ${q(root)};`],
  ];
  let out = text;
  for (const [re, by] of marks) {
    expect(text.match(new RegExp(re.source, 'gm'))?.length, `${re} in ${EXAMPLE}`).toBe(1);
    out = out.replace(re, by);
  }
  // No other listen line may open anything beyond loopback.
  expect(out.split('\n').filter((l) => /^\s*listen\b/.test(l))).toEqual([`    listen 127.0.0.1:${port};`]);
  return out;
}

describe('examples/nginx/inetboot.conf in the real nginx', () => {
  const root = mkdtempSync(join(tmpdir(), 'inetboot-nginx-example-'));
  const block = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 13) % 256));
  const blockPath = `blocks/${sha(block).slice(0, 2)}/${sha(block)}.zst`;
  const kernel = Buffer.from('pretend bzImage '.repeat(100));
  const kernelPath = `kernel/${sha(kernel)}`;
  const manifest = '{"block_size":262144}\n';
  let server: NginxServer;

  beforeAll(async () => {
    const put = (path: string, content: Buffer | string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    };
    put('debian12/root.json', manifest);
    put(`debian12/${blockPath}`, block);
    put(`debian12/${kernelPath}`, kernel);
    put(`debian12/index/${sha('index')}`, 'index');
    put(`debian12/versions/${sha(manifest)}.json`, manifest);
    put('debian12/versions/history', `${sha(manifest)} 2024-01-01T00:00:00Z\n`);
    put('debian12/.root.json.lock', '');
    put('debian12/.publish-x1/blocks/00/half-written', 'x');
    put('linux', kernel);
    const example = readFileSync(EXAMPLE, 'utf8');
    server = await startNginx({ root, name: 'nginx-example', server: (port) => `  include /etc/nginx/mime.types;\n${templateExample(example, port, root)}` });
  }, scaled(60_000));

  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(server.url(path), { headers, signal: AbortSignal.timeout(scaled(10_000)) });

  test('a block: byte ranges (206), binary, no compression, cached for a year as immutable', async () => {
    const r = await get(`debian12/${blockPath}`, { Range: 'bytes=100-199', 'Accept-Encoding': 'gzip, zstd' });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 100-199/${block.length}`);
    expect(r.headers.get('content-length')).toBe('100');
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(r.headers.get('content-encoding')).toBeNull();
    expect(r.headers.get('cache-control')).toBe(IMMUTABLE);
    expect(Buffer.from(await r.arrayBuffer()).equals(block.subarray(100, 200))).toBe(true);
    const tail = await get(`debian12/${blockPath}`, { Range: 'bytes=-10' });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(block.subarray(-10))).toBe(true);
    expect((await get(`debian12/${blockPath}`, { Range: `bytes=${block.length}-` })).status).toBe(416);
  });

  test('kernel and index, named by their sha256: immutable', async () => {
    for (const path of [kernelPath, `index/${sha('index')}`]) {
      const r = await get(`debian12/${path}`);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('cache-control'), path).toBe(IMMUTABLE);
      expect(r.headers.get('content-type'), path).toBe('application/octet-stream');
    }
  });

  test('root.json and the manifests: application/json, revalidated every time (no-cache), 304 when unchanged', async () => {
    const r = await get('debian12/root.json');
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(manifest);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    const etag = r.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await get('debian12/root.json', { 'If-None-Match': etag! });
    expect(again.status).toBe(304);
    expect(again.headers.get('cache-control')).toBe('no-cache');
    for (const path of [`versions/${sha(manifest)}.json`, 'versions/history']) {
      const v = await get(`debian12/${path}`);
      expect(v.status, path).toBe(200);
      expect(v.headers.get('cache-control'), path).toBe('no-cache');
    }
  });

  test('a plain kernel under a fixed name: ranges work, revalidated (no-cache)', async () => {
    const r = await get('linux', { Range: 'bytes=0-15' });
    expect(r.status).toBe(206);
    expect(await r.text()).toBe('pretend bzImage ');
    expect(r.headers.get('cache-control')).toBe('no-cache');
  });

  test("publish's lock and work in progress are not served; errors carry no cache header", async () => {
    for (const path of ['debian12/.root.json.lock', 'debian12/.publish-x1/blocks/00/half-written', `debian12/blocks/00/${'0'.repeat(64)}`]) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(r.headers.get('cache-control'), path).toBeNull();
    }
    expect((await get('debian12/')).status).toBe(403);
  });
});
