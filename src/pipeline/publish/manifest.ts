/**
 * The manifest of a published root, DIR/root.json: the one value a boot entry pins (its sha256),
 * naming everything else by content (README, "Publishing a root"). Written canonically, one key
 * per line in a fixed order, because the preboot reads it with a strict line parser
 * (lib/inetboot/root.sh): no other layout is accepted there.
 *
 *   {
 *     "format": "inetboot-root-2",
 *     "image_bytes": 377487360,
 *     "block_size": 262144,
 *     "blocks": 1440,
 *     "kernel": {"path": "kernel/<sha256>", "sha256": "<sha256>", "size": 8123456},
 *     "miniroot": {"path": "miniroot/<sha256>", "sha256": "<sha256>", "size": 9123456},
 *     "index": {"path": "index/<sha256>", "sha256": "<sha256>", "size": 69152},
 *     "profile": {"path": "profile/<sha256>", "sha256": "<sha256>", "size": 576}
 *   }
 *
 * block_size is the average length the image was cut for (its blocks have lengths of their own,
 * in the index: daemon/index.h); "profile" is null when the root has no boot profile.
 */
import { SHA256_RE } from '../../config/schema.js';

export const MANIFEST_FORMAT = 'inetboot-root-2';
export const MANIFEST_NAME = 'root.json';

export interface ManifestFile {
  path: string;
  sha256: string;
  size: number;
}

export interface RootManifest {
  image_bytes: number;
  block_size: number;
  blocks: number;
  kernel: ManifestFile;
  miniroot: ManifestFile;
  index: ManifestFile;
  profile: ManifestFile | null;
}

/** The index: a 32-byte header and a 48-byte record per block (daemon/index.h). */
export const INDEX_HEADER = 32;
export const INDEX_RECORD = 48;
/** The longest block (daemon/index.h IB_MAX_BLOCK_LEN). */
export const MAX_BLOCK_LEN = 4 * 1024 * 1024;
export const MAX_BLOCKS = 2 ** 24;

export function renderManifest(m: RootManifest): string {
  const file = (f: ManifestFile) => `{"path": "${f.path}", "sha256": "${f.sha256}", "size": ${f.size}}`;
  return [
    '{',
    `  "format": "${MANIFEST_FORMAT}",`,
    `  "image_bytes": ${m.image_bytes},`,
    `  "block_size": ${m.block_size},`,
    `  "blocks": ${m.blocks},`,
    `  "kernel": ${file(m.kernel)},`,
    `  "miniroot": ${file(m.miniroot)},`,
    `  "index": ${file(m.index)},`,
    `  "profile": ${m.profile ? file(m.profile) : 'null'}`,
    '}',
    '',
  ].join('\n');
}

/**
 * Reads a manifest as untrusted text: exactly the canonical layout, every number in range,
 * every path "KEY/SHA256" of its own sha256 (so no name can leave the published tree).
 * Throws an Error saying what is wrong.
 */
export function parseManifest(text: string): RootManifest {
  if (text.length > 4096) throw new Error('the manifest is longer than 4096 bytes');
  const lines = text.split('\n');
  const layout = 'the manifest does not have the canonical layout (one key per line)';
  if (lines.length !== 11) throw new Error(layout);
  const num = (i: number, key: string, max: number) => {
    const m = new RegExp(`^  "${key}": ([1-9][0-9]{0,15}),$`).exec(lines[i] ?? '');
    if (!m || Number(m[1]) > max) throw new Error(`line ${i + 1}: "${key}" is not a whole number from 1 to ${max}`);
    return Number(m[1]);
  };
  const file = (i: number, key: string, last: boolean): ManifestFile => {
    const m = new RegExp(`^  "${key}": \\{"path": "${key}/([0-9a-f]{64})", "sha256": "([0-9a-f]{64})", "size": ([1-9][0-9]{0,11})\\}${last ? '' : ','}$`).exec(lines[i] ?? '');
    if (!m || m[1] !== m[2]) throw new Error(`line ${i + 1}: "${key}" is not {"path": "${key}/SHA256", "sha256": "SHA256", "size": BYTES} of one sha256`);
    if (!SHA256_RE.test(m[2]!)) throw new Error(`line ${i + 1}: bad sha256`);
    return { path: `${key}/${m[2]}`, sha256: m[2]!, size: Number(m[3]) };
  };
  if (lines[0] !== '{' || lines[9] !== '}' || lines[10] !== '') throw new Error(layout);
  if (lines[1] !== `  "format": "${MANIFEST_FORMAT}",`) throw new Error(`line 2: the format is not "${MANIFEST_FORMAT}" (made by another inetboot version?)`);
  const m: RootManifest = {
    image_bytes: num(2, 'image_bytes', 2 ** 46),
    block_size: num(3, 'block_size', 1024 * 1024),
    blocks: num(4, 'blocks', MAX_BLOCKS),
    kernel: file(5, 'kernel', false),
    miniroot: file(6, 'miniroot', false),
    index: file(7, 'index', false),
    profile: lines[8] === '  "profile": null' ? null : file(8, 'profile', true),
  };
  if (m.index.size !== INDEX_HEADER + INDEX_RECORD * m.blocks) throw new Error('the index size does not match the block count');
  if (m.blocks > m.image_bytes || m.image_bytes > m.blocks * MAX_BLOCK_LEN) throw new Error('the block count does not match the image size');
  if (m.profile && (m.profile.size < 20 || m.profile.size > 16 + 4 * m.blocks || (m.profile.size - 16) % 4 !== 0)) {
    throw new Error('the profile size is not 16 bytes and 4 for each of 1 to "blocks" blocks');
  }
  return m;
}
