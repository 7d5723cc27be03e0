/**
 * A deterministic cpio "newc" writer, the format the Linux kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * Determinism: entries are sorted by path, owners are 0:0, every mtime is the same fixed
 * value, inode numbers are assigned in order, so the same manifest gives the same bytes.
 */

export type CpioEntry =
  | { type: 'dir'; path: string; mode: number }
  | { type: 'file'; path: string; mode: number; data: Buffer }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; mode: number; major: number; minor: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

/** 2000-01-01T00:00:00Z: a fixed mtime so that the archive does not depend on the clock. */
export const FIXED_MTIME = 946684800;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0').toUpperCase();
}

function pad4(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

function header(fields: { ino: number; mode: number; nlink: number; filesize: number; rdevmajor?: number; rdevminor?: number; namesize: number }): string {
  return (
    '070701' +
    hex8(fields.ino) +
    hex8(fields.mode) +
    hex8(0) + // uid
    hex8(0) + // gid
    hex8(fields.nlink) +
    hex8(FIXED_MTIME) +
    hex8(fields.filesize) +
    hex8(0) + // devmajor
    hex8(0) + // devminor
    hex8(fields.rdevmajor ?? 0) +
    hex8(fields.rdevminor ?? 0) +
    hex8(fields.namesize) +
    hex8(0) // check
  );
}

/** Paths in the archive are relative ("bin/sh"), without a leading slash or "..". */
export function normaliseArchivePath(path: string): string {
  const p = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '' || p.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new Error(`invalid path in initramfs manifest: "${path}"`);
  }
  return p;
}

export function writeNewc(entries: readonly CpioEntry[]): Buffer {
  const sorted = [...entries].map((e) => ({ ...e, path: normaliseArchivePath(e.path) })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const chunks: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer) => {
    chunks.push(b);
    offset += b.length;
  };
  const record = (name: string, mode: number, data: Buffer, ino: number, nlink: number, rdev?: { major: number; minor: number }) => {
    const nameBuf = Buffer.from(name + '\0', 'utf8');
    const head = Buffer.from(
      header({ ino, mode, nlink, filesize: data.length, namesize: nameBuf.length, rdevmajor: rdev?.major, rdevminor: rdev?.minor }),
      'ascii',
    );
    push(head);
    push(nameBuf);
    push(pad4(head.length + nameBuf.length));
    push(data);
    push(pad4(data.length));
  };
  let ino = 1;
  for (const e of sorted) {
    switch (e.type) {
      case 'dir':
        record(e.path, S_IFDIR | (e.mode & 0o7777), Buffer.alloc(0), ino++, 2);
        break;
      case 'file':
        record(e.path, S_IFREG | (e.mode & 0o7777), e.data, ino++, 1);
        break;
      case 'symlink':
        record(e.path, S_IFLNK | 0o777, Buffer.from(e.target, 'utf8'), ino++, 1);
        break;
      case 'chardev':
        record(e.path, S_IFCHR | (e.mode & 0o7777), Buffer.alloc(0), ino++, 1, { major: e.major, minor: e.minor });
        break;
    }
  }
  record('TRAILER!!!', 0, Buffer.alloc(0), 0, 1);
  // The kernel reads archives in 512-byte blocks happily either way; pad like GNU cpio does.
  push(Buffer.alloc((512 - (offset % 512)) % 512));
  return Buffer.concat(chunks);
}

export interface CpioReadEntry {
  path: string;
  mode: number;
  type: CpioEntry['type'] | 'other';
  data: Buffer;
  rdevmajor: number;
  rdevminor: number;
}

/** Reads a newc archive back (for tests and for checks after a build). */
export function readNewc(buf: Buffer): CpioReadEntry[] {
  const out: CpioReadEntry[] = [];
  let off = 0;
  const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
  while (off + 110 <= buf.length) {
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== '070701' && magic !== '070702') throw new Error(`bad cpio magic at offset ${off}: ${JSON.stringify(magic)}`);
    const mode = field(1);
    const filesize = field(6);
    const rdevmajor = field(9);
    const rdevminor = field(10);
    const namesize = field(11);
    const nameStart = off + 110;
    const name = buf.toString('utf8', nameStart, nameStart + namesize - 1);
    const dataStart = nameStart + namesize + ((4 - ((110 + namesize) % 4)) % 4);
    const data = buf.subarray(dataStart, dataStart + filesize);
    off = dataStart + filesize + ((4 - (filesize % 4)) % 4);
    if (name === 'TRAILER!!!') break;
    const fmt = mode & 0o170000;
    const type = fmt === S_IFDIR ? 'dir' : fmt === S_IFREG ? 'file' : fmt === S_IFLNK ? 'symlink' : fmt === S_IFCHR ? 'chardev' : 'other';
    out.push({ path: name, mode: mode & 0o7777, type, data: Buffer.from(data), rdevmajor, rdevminor });
  }
  return out;
}
