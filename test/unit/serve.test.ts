/** The pure parts of `inetboot serve`: ranges, request paths, the access-log line, --port. */
import { describe, expect, test } from 'vitest';
import { parsePort } from '../../src/commands/serve.js';
import { UsageError } from '../../src/errors.js';
import { formatAccessLine, parseRange, requestPath } from '../../src/serve/server.js';

describe('parseRange', () => {
  test.each([
    ['bytes=0-0', 10, { kind: 'part', start: 0, end: 0 }],
    ['bytes=2-5', 10, { kind: 'part', start: 2, end: 5 }],
    ['bytes=2-100', 10, { kind: 'part', start: 2, end: 9 }],
    ['bytes=7-', 10, { kind: 'part', start: 7, end: 9 }],
    ['bytes=-3', 10, { kind: 'part', start: 7, end: 9 }],
    ['bytes=-30', 10, { kind: 'part', start: 0, end: 9 }],
    ['Bytes = 1 - 2', 10, { kind: 'part', start: 1, end: 2 }],
    ['bytes=10-', 10, { kind: 'unsatisfiable' }],
    ['bytes=10-20', 10, { kind: 'unsatisfiable' }],
    ['bytes=99999999999999999999-', 10, { kind: 'unsatisfiable' }],
    ['bytes=-0', 10, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=-5', 0, { kind: 'unsatisfiable' }],
    // Ignored (the whole file): several ranges, another unit, bad syntax, a backwards range.
    ['bytes=0-1,3-4', 10, { kind: 'whole' }],
    ['items=0-1', 10, { kind: 'whole' }],
    ['bytes=-', 10, { kind: 'whole' }],
    ['bytes=a-b', 10, { kind: 'whole' }],
    ['bytes=5-2', 10, { kind: 'whole' }],
  ] as const)('%s of %i bytes', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });

  test('no header: the whole file', () => {
    expect(parseRange(undefined, 10)).toEqual({ kind: 'whole' });
  });
});

describe('requestPath', () => {
  test.each([
    ['/', []],
    ['/root.json', ['root.json']],
    ['/a/b/c?x=1', ['a', 'b', 'c']],
    ['//etc/passwd', ['etc', 'passwd']],
    ['/%2fetc/passwd', ['etc', 'passwd']],
    ['/a/./b/', ['a', 'b']],
    ['/with%20space', ['with space']],
  ])('%s names %j inside DIR', (target, segments) => {
    expect(requestPath(target)).toEqual({ ok: true, segments });
  });

  test.each([
    ['/../etc/passwd', 403],
    ['/a/../../etc/passwd', 403],
    ['/a/..', 403],
    ['/%2e%2e/etc/passwd', 403],
    ['/%2E%2E/etc/passwd', 403],
    ['/a%2f..%2f..%2fetc', 403],
    ['/..%5c..', 200],
    ['/a%00b', 400],
    ['/%zz', 400],
    ['http://127.0.0.1/x', 400],
    ['*', 400],
  ])('%s is refused with %i', (target, status) => {
    const p = requestPath(target);
    // "..\.." is one odd name on Linux (backslash is no separator), not a way out.
    if (status === 200) expect(p).toEqual({ ok: true, segments: ['..\\..'] });
    else expect(p).toMatchObject({ ok: false, status });
  });
});

describe('formatAccessLine', () => {
  test('method, path, status, bytes; control bytes and spaces in the path are %-escaped', () => {
    expect(formatAccessLine({ method: 'GET', path: '/root.json', status: 200, bytes: 1234, aborted: false })).toBe('GET /root.json 200 1234');
    expect(formatAccessLine({ method: 'GET', path: '/x\x1b[2J y\n', status: 404, bytes: 10, aborted: false })).toBe('GET /x%1B[2J%20y%0A 404 10');
    expect(formatAccessLine({ method: 'GET', path: '/big', status: 206, bytes: 65536, aborted: true })).toBe('GET /big 206 65536 aborted');
  });
});

describe('parsePort', () => {
  test('0 to 65535, whole numbers without leading zeros', () => {
    expect(parsePort('0')).toBe(0);
    expect(parsePort('8080')).toBe(8080);
    expect(parsePort('65535')).toBe(65535);
    for (const bad of ['65536', '-1', '08080', '80.0', '', 'http', '1e3']) expect(() => parsePort(bad), bad).toThrow(UsageError);
  });
});
