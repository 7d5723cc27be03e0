/**
 * The URL grammar of src/config/url.ts: what it accepts and how it writes it. What it refuses,
 * with the exact messages, is in the hostile-input table (test/hostile/cases.ts); that every
 * accepted URL is fetched by the real BusyBox wget is test/integration/url-wget.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { checkFetchUrl } from '../../src/config/url.js';
import { urlArbitrary } from '../hostile/arbitraries.js';

describe('checkFetchUrl', () => {
  test.each([
    ['http://10.0.2.2:8080/linux', 'http://10.0.2.2:8080/linux'],
    ['HTTPS://mirror.example/debian/x', 'https://mirror.example/debian/x'],
    ['Http://h/x', 'http://h/x'],
    ['http://h?q=1', 'http://h/?q=1'],
    ['http://h', 'http://h'],
    ['http://example.org./x', 'http://example.org./x'],
    ['http://h_1.example:65535/x', 'http://h_1.example:65535/x'],
    ['http://[fd00::2]:8080/x', 'http://[fd00::2]:8080/x'],
    ['http://h/x?a=/b?c&d=%20', 'http://h/x?a=/b?c&d=%20'],
    ["http://h/p$!*();,:@=+~-._/q", "http://h/p$!*();,:@=+~-._/q"],
  ])('accepts %s as %s', (given, written) => {
    expect(checkFetchUrl(given)).toEqual({ ok: true, url: written });
  });

  test('is idempotent: what it writes, it accepts as it is (property)', () => {
    fc.assert(
      fc.property(urlArbitrary(), (u) => {
        const r = checkFetchUrl(u);
        if (r.ok) expect(checkFetchUrl(r.url)).toEqual({ ok: true, url: r.url });
      }),
      { numRuns: 2000 },
    );
  });

  test('what it accepts is ASCII without spaces, quotes, backslashes, "#" or user@ (property)', () => {
    fc.assert(
      fc.property(urlArbitrary(), (u) => {
        const r = checkFetchUrl(u);
        if (!r.ok) return;
        expect(r.url).toMatch(/^https?:\/\/[\x21-\x7e]+$/);
        expect(r.url).not.toMatch(/["'`\\#<>{}|^]/);
        expect(r.url.split(/[/?]/)[2]).not.toContain('@');
      }),
      { numRuns: 2000 },
    );
  });
});
