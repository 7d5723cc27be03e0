/** The options that smoke, run and demo share for the QEMU they start, each checked one way. */
import { statSync } from 'node:fs';
import { UsageError } from '../errors.js';

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The image to boot must be a file: an ISO, or with --usb a stick image. */
export function requireImage(path: string, usb?: boolean): void {
  if (!isFile(path)) throw new UsageError(`${usb ? 'image' : 'ISO'} not found: ${path}`);
}

/** --memory as typed: a positive whole number of MiB. */
export function parseMemoryMiB(text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) <= 0) throw new UsageError(`--memory: expected a positive whole number of MiB, got "${text}"`);
  return Number(text);
}
