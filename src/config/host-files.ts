/**
 * Files on the build machine that the config names, checked when the config is loaded (so the
 * message names the file, line and key), and read the same way when the medium is built.
 * Today: tls.ca_bundle, the CA certificates the preboot trusts (README, "HTTPS").
 */
import { X509Certificate } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { ConfigProblem } from '../errors.js';
import type { Locate } from './rules.js';
import type { Config } from './schema.js';

/** Debian's bundle of every CA it trusts is about 0.2 MB; a bundle above this is not one. */
export const MAX_CA_BUNDLE_BYTES = 4 * 1024 * 1024;

export type CaBundle = { ok: true; text: string; certificates: number } | { ok: false; message: string };

const PEM_BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * Reads a CA bundle: a regular file of at most 4 MiB holding PEM certificates, each of which
 * parses, and nothing secret (a private key would be copied onto the boot medium).
 */
export function readCaBundleFile(path: string): CaBundle {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO must not block the open; the type is checked next.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, message: code === 'ENOENT' ? `${path} does not exist: name a PEM file of CA certificates` : `cannot read ${path}: ${(err as Error).message}` };
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, message: `${path} is not a regular file (a device, directory, FIFO or socket): name a PEM file of CA certificates` };
    if (st.size > MAX_CA_BUNDLE_BYTES) return { ok: false, message: `${path} is ${st.size} bytes: a CA bundle is at most ${MAX_CA_BUNDLE_BYTES / 1048576} MiB` };
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    text = buf.subarray(0, got).toString('latin1');
  } finally {
    closeSync(fd);
  }
  const blocks = [...text.matchAll(PEM_BLOCK_RE)];
  const secret = blocks.find((b) => /PRIVATE KEY/.test(b[1] ?? ''));
  if (secret) return { ok: false, message: `${path} holds a ${secret[1]}: a CA bundle holds only certificates, and this one would be copied onto the boot medium` };
  const certs = blocks.filter((b) => b[1] === 'CERTIFICATE');
  if (certs.length === 0) return { ok: false, message: `${path} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" block)` };
  for (const [i, b] of certs.entries()) {
    try {
      new X509Certificate(b[0]);
    } catch (err) {
      const line = text.slice(0, b.index).split('\n').length;
      return { ok: false, message: `${path}: certificate ${i + 1} (line ${line}) cannot be read: ${(err as Error).message}` };
    }
  }
  return { ok: true, text, certificates: certs.length };
}

export function hostFileProblems(config: Config, file: string, locate: Locate): ConfigProblem[] {
  const bundle = config.tls?.ca_bundle;
  if (bundle === undefined) return [];
  const r = readCaBundleFile(bundle);
  if (r.ok) return [];
  return [{ file, line: locate(['tls', 'ca_bundle']), path: 'tls.ca_bundle', message: `${r.message} (e.g. the output of "openssl x509 -in ca.crt -outform PEM"), or remove tls.ca_bundle to trust Debian's CAs` }];
}
