/** Reads files back out of a built ISO with the real xorriso. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export async function isoFileList(iso: string): Promise<string[]> {
  const r = await execa('xorriso', ['-indev', iso, '-find', '/', '-type', 'f'], { stderr: 'pipe' });
  return r.stdout
    .split('\n')
    .map((l) => l.trim().replace(/^'|'$/g, ''))
    .filter((l) => l.startsWith('/'))
    .sort();
}

export async function isoExtract(iso: string, path: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'inetboot-iso-'));
  try {
    await execa('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', path, join(dir, 'out')]);
    return readFileSync(join(dir, 'out'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** xorriso's El Torito report: which boot images (BIOS, UEFI) the ISO has. */
export async function isoBootReport(iso: string): Promise<string> {
  const r = await execa('xorriso', ['-indev', iso, '-report_el_torito', 'plain'], { all: true });
  return r.all ?? '';
}
