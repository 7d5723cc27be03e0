/**
 * The initramfs as a manifest (archive path -> content) before it becomes an archive.
 * Parent directories are implied; adding a second, different thing at the same path is a
 * bug in the caller and throws, while adding the identical thing twice is harmless.
 */
import { readFileSync, readlinkSync, lstatSync } from 'node:fs';
import { type CpioEntry, normaliseArchivePath, writeNewc } from './cpio.js';

export class Manifest {
  private readonly entries = new Map<string, CpioEntry>();

  add(entry: CpioEntry): this {
    const path = normaliseArchivePath(entry.path);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) this.addDir(parts.slice(0, i).join('/'));
    this.put({ ...entry, path });
    return this;
  }

  addDir(path: string, mode = 0o755): this {
    const p = normaliseArchivePath(path);
    const existing = this.entries.get(p);
    if (existing?.type === 'dir') return this;
    return this.add({ type: 'dir', path: p, mode });
  }

  addFile(path: string, data: Buffer | string, mode = 0o644): this {
    return this.add({ type: 'file', path, mode, data: Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8') });
  }

  addSymlink(path: string, target: string): this {
    return this.add({ type: 'symlink', path, target });
  }

  /** Copies a host file (or symlink) into the archive, keeping its permission bits. */
  addHostFile(path: string, hostPath: string, mode?: number): this {
    const st = lstatSync(hostPath);
    if (st.isSymbolicLink()) return this.addSymlink(path, readlinkSync(hostPath));
    return this.addFile(path, readFileSync(hostPath), mode ?? st.mode & 0o7777);
  }

  has(path: string): boolean {
    return this.entries.has(normaliseArchivePath(path));
  }

  get(path: string): CpioEntry | undefined {
    return this.entries.get(normaliseArchivePath(path));
  }

  paths(): string[] {
    return [...this.entries.keys()].sort();
  }

  toCpio(): Buffer {
    return writeNewc([...this.entries.values()]);
  }

  private put(entry: CpioEntry): void {
    const existing = this.entries.get(entry.path);
    if (existing && !sameEntry(existing, entry)) {
      throw new Error(`initramfs manifest: two different things want ${entry.path} (${existing.type} and ${entry.type})`);
    }
    this.entries.set(entry.path, entry);
  }
}

function sameEntry(a: CpioEntry, b: CpioEntry): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'dir':
      return true;
    case 'file':
      return b.type === 'file' && a.mode === b.mode && a.data.equals(b.data);
    case 'symlink':
      return b.type === 'symlink' && a.target === b.target;
    case 'chardev':
      return b.type === 'chardev' && a.major === b.major && a.minor === b.minor && a.mode === b.mode;
  }
}
