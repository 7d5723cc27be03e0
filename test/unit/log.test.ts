/** consoleLogger's progress (src/log.ts): a status line on a terminal, a plain line every few seconds in a log, nothing with -q. */
import { describe, expect, test } from 'vitest';
import { consoleLogger, PLAIN_PROGRESS_MS } from '../../src/log.js';

function capture(opts: { tty?: boolean; quiet?: boolean }) {
  let out = '';
  let t = 0;
  const log = consoleLogger({ stderr: (s) => (out += s) }, { ...opts, now: () => t });
  return { log, out: () => out, at: (ms: number) => (t = ms) };
}

describe('progress', () => {
  test('on a terminal: one status line redrawn in place, cleared before the next message and at the end', () => {
    const c = capture({ tty: true });
    c.log.progress('make: 1s: CC a.o');
    c.at(50);
    c.log.progress('make: 1s: CC b.o'); // within 100 ms: not drawn
    c.at(200);
    c.log.progress('make: 2s: CC c.o\nwith a newline');
    c.log.info('done');
    c.at(400);
    c.log.progress('x');
    c.log.progress('');
    expect(c.out()).toBe('\r\x1b[K  make: 1s: CC a.o\r\x1b[K  make: 2s: CC c.o with a newline\r\x1b[Kdone\n\r\x1b[K  x\r\x1b[K');
  });

  test(`in a log (not a terminal): a plain line at most every ${PLAIN_PROGRESS_MS / 1000} s, no escapes`, () => {
    const c = capture({});
    for (let ms = 0; ms <= 12_000; ms += 1000) {
      c.at(ms);
      c.log.progress(`make: ${ms / 1000}s`);
    }
    expect(c.out()).toBe('  make: 0s\n  make: 5s\n  make: 10s\n');
    c.log.progress('');
    expect(c.out()).not.toContain('\x1b');
  });

  test('with -q: nothing, on a terminal or not', () => {
    for (const tty of [true, false]) {
      const c = capture({ quiet: true, tty });
      c.log.progress('downloading x: 1.0 of 2.0 MiB (50%)');
      c.log.progress('');
      expect(c.out()).toBe('');
    }
  });
});
