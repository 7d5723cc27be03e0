// The archive the preboot appends to a published root's miniroot
// (buildroot-overlay/board/inetboot/rootfs_overlay/lib/inetboot/root.sh, root_initrd), for boots
// that start the root's kernel directly, without a preboot (bench/root.bench.ts).
// test/unit/root-handover.test.ts checks that these keys are exactly the ones root.sh writes and
// miniroot/init reads, so the two writers cannot drift apart unnoticed.
import { writeNewc, type CpioEntry } from '../../src/pipeline/cpio.js';

/** Files of etc/inetboot/root/, one value per line; the optional ones may be left out. */
export interface RootHandover {
  sources: string[];
  index_sha256: string;
  index_size: number;
  /** The boot profile the manifest names, if any. */
  profile_sha256?: string;
  profile_size?: number;
  mac: string;
  address: string;
  gateway?: string;
  dns?: string[];
  proxy?: string;
  /** ib.cache= as typed at the preboot's GRUB: the block cache is off, or read-only. */
  cache?: 'off' | 'readonly';
}

export const ROOT_HANDOVER_KEYS = ['sources', 'index_sha256', 'index_size', 'profile_sha256', 'profile_size', 'mac', 'address', 'gateway', 'dns', 'proxy', 'cache'] as const;

/** MINIROOT padded with zeros to a multiple of 4 bytes, then the archive (as root_initrd does). */
export function withRootHandover(miniroot: Buffer, data: RootHandover): Buffer {
  const files: [string, string][] = [];
  for (const key of ROOT_HANDOVER_KEYS) {
    const v = data[key];
    if (v === undefined) continue;
    files.push([key, (Array.isArray(v) ? v : [String(v)]).map((line) => `${line}\n`).join('')]);
  }
  const entries: CpioEntry[] = [
    { type: 'dir', path: 'etc', mode: 0o755 },
    { type: 'dir', path: 'etc/inetboot', mode: 0o755 },
    { type: 'dir', path: 'etc/inetboot/root', mode: 0o755 },
    ...files.map(([k, v]): CpioEntry => ({ type: 'file', path: `etc/inetboot/root/${k}`, mode: 0o644, data: Buffer.from(v) })),
  ];
  return Buffer.concat([miniroot, Buffer.alloc((4 - (miniroot.length % 4)) % 4), writeNewc(entries)]);
}
