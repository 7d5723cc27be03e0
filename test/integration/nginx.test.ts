import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accepts, startNginx } from '../helpers/nginx.js';
import { scaled } from '../helpers/timeouts.js';

describe('test nginx helper', () => {
  const root = mkdtempSync(join(tmpdir(), 'inetboot-nginx-test-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('serves the exact bytes of a file on 127.0.0.1 and closes the port on stop', async () => {
    // every byte value, twice, plus a part that is not a multiple of anything round
    const content = Buffer.concat([Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256)), Buffer.from('tail\n')]);
    writeFileSync(join(root, 'blob.bin'), content);

    const server = await startNginx({ root, name: 'nginx-test' });
    let stopped = false;
    try {
      expect(server.baseUrlForGuest).toBe(`http://10.0.2.2:${server.port}`);
      expect(server.url('/blob.bin')).toBe(`http://127.0.0.1:${server.port}/blob.bin`);

      const res = await fetch(server.url('blob.bin'), { signal: AbortSignal.timeout(scaled(10_000)) });
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true);

      const missing = await fetch(server.url('no-such-file'), { signal: AbortSignal.timeout(scaled(10_000)) });
      expect(missing.status).toBe(404);

      await server.stop();
      stopped = true;
      expect(await accepts(server.port)).toBe(false);
      expect(readFileSync(server.accessLog, 'utf8')).toMatch(/"GET \/blob\.bin HTTP\/1\.1" 200 517 /);
    } finally {
      if (!stopped) await server.stop();
    }
  });

  it('listens on loopback only', async () => {
    const server = await startNginx({ root, name: 'nginx-test-loopback' });
    try {
      const conf = readFileSync(join(server.accessLog, '..', 'nginx-prefix', 'nginx.conf'), 'utf8');
      const listens = conf.split('\n').filter((l) => /^\s*listen\b/.test(l));
      expect(listens).toEqual([`    listen 127.0.0.1:${server.port};`]);
    } finally {
      await server.stop();
    }
  });
});
