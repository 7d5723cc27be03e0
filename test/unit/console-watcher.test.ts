/**
 * The console watcher's line times (src/qemu/boot.ts, ConsoleWatcher): each line carries when
 * its first character and its newline arrived, however the stream was cut into chunks. The benchmark
 * against iPXE (bench/ipxe.bench.ts) derives its per-stage budget from them.
 */
import { describe, expect, it } from 'vitest';
import { ConsoleWatcher, type LineTime } from '../../src/qemu/boot.js';

function feed(chunks: [string, number][]): [string, LineTime][] {
  const lines: [string, LineTime][] = [];
  const w = new ConsoleWatcher('NEVER-PRINTED', [], (line, at) => lines.push([line, at]));
  for (const [text, at] of chunks) w.push(Buffer.from(text, 'latin1'), at);
  return lines;
}

describe('ConsoleWatcher line times', () => {
  it('a line split over chunks starts at its first chunk and ends at its newline', () => {
    expect(feed([['inet', 100], ['boot: DHCP', 150], [' on eth0 ...\r\n', 220]])).toEqual([['inetboot: DHCP on eth0 ...', { startMs: 100, endMs: 220 }]]);
  });

  it('several lines in one chunk all end at that chunk; the next line starts after its newline', () => {
    expect(feed([['a\nb\nc', 300], ['d\n', 400]])).toEqual([
      ['a', { startMs: 300, endMs: 300 }],
      ['b', { startMs: 300, endMs: 300 }],
      ['cd', { startMs: 300, endMs: 400 }],
    ]);
  });

  it('a line starts with its first character, not with escapes or carriage returns before it', () => {
    // GRUB and OVMF send "\r" and escapes right after a newline; the next words may come seconds later.
    expect(feed([['Booting\r\n\r', 10], ['\x1b[0m', 42], ['http://10.0.2.2/vmlinuz...', 8000], [' ok\n', 9000]])).toEqual([
      ['Booting', { startMs: 10, endMs: 10 }],
      ['http://10.0.2.2/vmlinuz... ok', { startMs: 8000, endMs: 9000 }],
    ]);
  });

  it('an empty line starts and ends at its newline', () => {
    expect(feed([['a\n', 5], ['\r\n', 7]])).toEqual([
      ['a', { startMs: 5, endMs: 5 }],
      ['', { startMs: 7, endMs: 7 }],
    ]);
  });

  it('without times (push with one argument) every line is at 0, as before', () => {
    const lines: [string, LineTime][] = [];
    const w = new ConsoleWatcher('X', [], (line, at) => lines.push([line, at]));
    w.push(Buffer.from('hello\nworld\n'));
    expect(lines).toEqual([
      ['hello', { startMs: 0, endMs: 0 }],
      ['world', { startMs: 0, endMs: 0 }],
    ]);
  });
});
