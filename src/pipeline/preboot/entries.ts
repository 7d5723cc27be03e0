/**
 * Each menu entry's data, baked into the preboot initramfs as one file per field under
 * etc/inetboot/entries/<id>/. GRUB passes only `ib.entry=<id>`, so URLs, hashes and the
 * target's command line never pass through GRUB's quoting or its 2048-byte command-line
 * buffer, and the init script reads them with `read -r` — no shell parsing, no eval.
 *
 * Files (each one line, no trailing newline; absent when the value is absent):
 *   title  kernel_url  kernel_sha256  kernel_size  initrd_url  initrd_sha256  initrd_size  append
 * plus kernel_urls and initrd_urls: every source of the file (mirror groups expanded), one URL
 * per line, each line ending in a newline; kernel_url/initrd_url hold the first of them for
 * readers that want one. And etc/inetboot/default holding the default entry's id.
 *
 * Entry kinds (README, "Entry kinds"): `kind` is kernel, xen, iscript or shell;
 *   xen: hypervisor_{urls,url,sha256,size} and hypervisor_append besides the kernel's files;
 *   iscript: iscript_{urls,url,sha256,size} (append, when set, is handed to the script);
 *   root: root_{urls,url,sha256,size}, the published root's manifest (lib/inetboot/root.sh);
 *     no root_sha256 only when the config says root_unverified: true.
 * etc/inetboot/entries.list: every id in the config's order, one per line.
 */
import { artifactUrls, entryKind, type Artifact, type Config } from '../../config/schema.js';
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
    const artifact = (name: 'kernel' | 'initrd' | 'hypervisor' | 'iscript' | 'root', a: Artifact | undefined) => {
      if (!a) return;
      const urls = artifactUrls(a, config.mirrors).map((u) => oneLine(e.id, `${name}_urls`, u));
      // Only an unknown mirror group gives no URL, and rules.ts refuses it with file and line.
      if (urls.length === 0) throw new Error(`internal: entry ${e.id}: ${name} names mirror group "${a.mirror ?? ''}", which is not under mirrors:`);
      put(`${name}_url`, urls[0]);
      files.set(`${ENTRY_DATA_DIR}/${e.id}/${name}_urls`, urls.map((u) => `${u}\n`).join(''));
      put(`${name}_sha256`, a.sha256);
      put(`${name}_size`, a.size === undefined ? undefined : String(a.size));
    };
    put('title', e.title);
    put('kind', entryKind(e));
    artifact('kernel', e.kernel);
    artifact('initrd', e.initrd);
    artifact('hypervisor', e.hypervisor);
    put('hypervisor_append', e.hypervisor_append);
    artifact('iscript', e.iscript);
    artifact('root', e.root);
    // An empty command line is a value too: the target then boots with none.
    files.set(`${ENTRY_DATA_DIR}/${e.id}/append`, oneLine(e.id, 'append', e.append));
  }
  // The rescue menu lists the entries in the config's order, which a directory listing would lose.
  if (config.entries.length > 0) files.set('etc/inetboot/entries.list', config.entries.map((e) => `${e.id}\n`).join(''));
  const def = config.default ?? config.entries[0]?.id;
  if (def) files.set('etc/inetboot/default', def);
  return files;
}

export function addEntryData(manifest: Manifest, config: Config): void {
  for (const [path, value] of entryDataFiles(config)) manifest.addFile(path, value, 0o644);
}
