/**
 * Each menu entry's data, baked into the preboot initramfs as one file per field under
 * etc/inetboot/entries/<id>/. GRUB passes only `ib.entry=<id>`, so URLs, hashes and the
 * target's command line never pass through GRUB's quoting or its 2048-byte command-line
 * buffer, and the init script reads them with `read -r` — no shell parsing, no eval.
 *
 * Files (each one line, no trailing newline; absent when the value is absent):
 *   title  kernel_url  kernel_sha256  initrd_url  initrd_sha256  append
 * and etc/inetboot/default holding the default entry's id.
 */
import type { Config } from '../../config/schema.js';
import type { Manifest } from '../manifest.js';

export const ENTRY_DATA_DIR = 'etc/inetboot/entries';

function oneLine(id: string, field: string, value: string): string {
  // The schema rejects control characters; this guards the init script's `read -r` against a bug upstream.
  if (/[\0\r\n]/.test(value)) throw new Error(`internal: entry ${id} field ${field} contains a line break`);
  return value;
}

export function entryDataFiles(config: Config): Map<string, string> {
  const files = new Map<string, string>();
  for (const e of config.entries) {
    const put = (field: string, value: string | undefined) => {
      if (value !== undefined && value !== '') files.set(`${ENTRY_DATA_DIR}/${e.id}/${field}`, oneLine(e.id, field, value));
    };
    put('title', e.title);
    put('kernel_url', e.kernel.url);
    put('kernel_sha256', e.kernel.sha256);
    put('initrd_url', e.initrd?.url);
    put('initrd_sha256', e.initrd?.sha256);
    // An empty command line is a value too: the target then boots with none.
    files.set(`${ENTRY_DATA_DIR}/${e.id}/append`, oneLine(e.id, 'append', e.append));
  }
  const def = config.default ?? config.entries[0]?.id;
  if (def) files.set('etc/inetboot/default', def);
  return files;
}

export function addEntryData(manifest: Manifest, config: Config): void {
  for (const [path, value] of entryDataFiles(config)) manifest.addFile(path, value, 0o644);
}
