/**
 * The fixed fuzz set of the quoting tests: 4000 seeded strings of the characters that mean
 * something to GRUB, sh and the kernel, with a few control characters, and the helpers to
 * run a quoting function over them. The same strings on every run (seeded).
 */
import { QuoteError } from '../../src/errors.js';

/** mulberry32: small, seeded, the same sequence on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const NASTY = [
  ...`'"\\$\`;-#{}=,.:/+_*?[]|&<>()~!%@^`,
  ' ', ' ', 'a', 'b', 'Z', '0', '9', 'é', '日', '😀', '\u00a0',
];
/** Rare on purpose, so that most strings are accepted and reach the parsers. */
export const CONTROL = ['\n', '\t', '\r', '\0', '\x7f', '\x9b', '\x1b', '\uD800'];
// eslint-disable-next-line no-control-regex
export const UNWRITABLE_RE = /[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDFFF]/u;

export function randomString(rand: () => number, maxLen: number): string {
  const len = Math.floor(rand() * (maxLen + 1));
  let s = '';
  for (let i = 0; i < len; i++) {
    const pool = rand() < 0.02 ? CONTROL : NASTY;
    s += pool[Math.floor(rand() * pool.length)];
  }
  return s;
}

export const SEED = 20240601;
export const COUNT = 4000;
const rand = prng(SEED);
export const FUZZ = Array.from({ length: COUNT }, () => randomString(rand, 14));

/** Runs f; returns its result, or undefined if it threw a QuoteError (anything else fails the test). */
export function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (err) {
    if (err instanceof QuoteError) return undefined;
    throw err;
  }
}

