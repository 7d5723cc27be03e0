/**
 * The XML text function (src/quote.ts xmlText) and smoke's reports (src/qemu/report.ts):
 * console text of any kind ends up as well-formed XML that reads back as the text, with only
 * the characters XML cannot hold replaced.
 */
import { describe, expect, test } from 'vitest';
import { junitXml, smokeReport } from '../../src/qemu/report.js';
import { xmlText } from '../../src/quote.js';
import type { BootResult } from '../../src/qemu/boot.js';
import { COUNT, prng, randomString, SEED } from '../helpers/fuzz.js';

/** What an XML reader makes of xmlText's output: the five entities read back. */
function readBack(x: string): string {
  return x.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);
}

const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

describe('xmlText', () => {
  test('escapes the five markup characters and keeps everything else', () => {
    expect(xmlText(`<a href="x">&'</a> ]]> 日😀\t\n`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt; ]]&gt; 日😀\t\n');
  });

  test('replaces what XML 1.0 cannot hold (NUL, ESC, lone surrogates, U+FFFE) with U+FFFD, keeps surrogate pairs', () => {
    expect(xmlText('a\0b\x1bc\uD800d\uDC00e\ufffef😀')).toBe('a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf😀');
  });

  test(`fuzz: ${COUNT} seeded strings read back as themselves, minus only the unwritable characters`, () => {
    const rand = prng(SEED);
    for (let i = 0; i < COUNT; i++) {
      const s = randomString(rand, 40) + (i % 7 === 0 ? '\u0001\ufffe' : '');
      const x = xmlText(s);
      expect(x).not.toMatch(/[<>"']|&(?!(amp|lt|gt|quot|apos);)/);
      expect(x).not.toMatch(XML_FORBIDDEN);
      expect(Buffer.from(x, 'utf8').toString('utf8')).toBe(x); // no lone surrogate left
      const expected = s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/gu, '\ufffd');
      expect(readBack(x)).toBe(expected);
    }
  });
});

describe('smoke reports', () => {
  const failed: BootResult = {
    ok: false,
    reason: 'fail-text',
    matched: 'Kernel panic',
    elapsedMs: 12_345.6,
    logFile: '/out/a&b.console.log',
    exitCode: 0,
    stderr: '',
    lastLines: ['<script>alert(1)</script>', ']]> & "quoted"', 'nul\0here'],
    screenshot: '/out/screen.png',
    shots: [],
  };

  test('--json: the fields, snake_case, nulls where nothing is known', () => {
    const rep = smokeReport(failed, { expect: 'login:', image: '/out/x.iso', uefi: true });
    expect(rep).toEqual({
      ok: false, reason: 'fail-text', matched: 'Kernel panic', expect: 'login:', image: '/out/x.iso', medium: 'cd', firmware: 'uefi',
      elapsed_s: 12.346, console_log: '/out/a&b.console.log', screenshot: '/out/screen.png', screenshot_error: null, qemu_exit_code: 0,
      last_lines: failed.lastLines,
    });
    expect(smokeReport({ ...failed, ok: true, reason: 'marker', matched: undefined, screenshot: undefined, exitCode: null }, { expect: 'x', image: 'i', usb: true })).toMatchObject({ matched: null, screenshot: null, qemu_exit_code: null, medium: 'usb', firmware: 'bios' });
  });

  test('--junit: a failing case whose message and output hold hostile console text as text', () => {
    const rep = smokeReport(failed, { expect: 'login:', image: '/out/x.iso', uefi: true });
    const xml = junitXml(rep, 'boot failed: "Kernel panic" appeared\nlast console lines:\n  | <script>');
    expect(xml).toContain('<testsuites name="inetboot smoke" tests="1" failures="1" errors="0" time="12.346">');
    expect(xml).toContain('<testcase classname="inetboot.smoke" name="x.iso (UEFI, CD)" time="12.346">');
    // The attribute is the first line only; the element holds the whole message.
    expect(xml).toContain('<failure type="fail-text" message="boot failed: &quot;Kernel panic&quot; appeared">boot failed: &quot;Kernel panic&quot; appeared\nlast console lines:\n  | &lt;script&gt;</failure>');
    expect(xml).toContain('&lt;script&gt;alert(1)&lt;/script&gt;\n]]&gt; &amp; &quot;quoted&quot;\nnul\ufffdhere</system-out>');
    expect(xml).toContain('[[ATTACHMENT|/out/a&amp;b.console.log]]');
    // Outside the escaped text, only the report's own tags.
    const tags = [...xml.matchAll(/<\/?([a-z-]+)/g)].map((m) => m[1]);
    expect(new Set(tags)).toEqual(new Set(['testsuites', 'testsuite', 'testcase', 'failure', 'system-out']));
  });

  test('--junit: a passing case has no failure element', () => {
    const xml = junitXml(smokeReport({ ...failed, ok: true, reason: 'marker', matched: 'login:' }, { expect: 'login:', image: 'x.iso' }), '');
    expect(xml).toContain('failures="0"');
    expect(xml).not.toContain('<failure');
  });
});
