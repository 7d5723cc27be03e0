/**
 * The manifest of a published root, DIR/root.json: the one value a boot entry pins (its sha256),
 * naming everything else by content (README, "Publishing a root"). Written canonically, one key
 * per line in a fixed order, because the preboot reads it with a strict line parser
 * (lib/inetboot/root.sh): no other layout is accepted there.
 *
 *   {
 *     "format": "inetboot-root-1",
 *     "image_bytes": 377487360,
 *     "block_size": 262144,
 *     "blocks": 1440,
 *     "kernel": {"path": "kernel/<sha256>", "sha256": "<sha256>", "size": 8123456},
 *     "miniroot": {"path": "miniroot/<sha256>", "sha256": "<sha256>", "size": 9123456},
 *     "index": {"path": "index/<sha256>", "sha256": "<sha256>", "size": 57632}
 *   }
 */
import { SHA256_RE } from '../../config/schema.js';

export const MANIFEST_FORMAT = 'inetboot-root-1';
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
}

export const FILE_KEYS = ['kernel', 'miniroot', 'index'] as const;

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
    `  "index": ${file(m.index)}`,
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
  const want = ['{', '"format"', '"image_bytes"', '"block_size"', '"blocks"', '"kernel"', '"miniroot"', '"index"', '}', ''];
  if (lines.length !== want.length) throw new Error('the manifest does not have the canonical layout (one key per line)');
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
  if (lines[0] !== '{' || lines[8] !== '}' || lines[9] !== '') throw new Error('the manifest does not have the canonical layout (one key per line)');
  if (lines[1] !== `  "format": "${MANIFEST_FORMAT}",`) throw new Error(`line 2: the format is not "${MANIFEST_FORMAT}"`);
  const m: RootManifest = {
    image_bytes: num(2, 'image_bytes', 2 ** 46),
    block_size: num(3, 'block_size', 4 * 1024 * 1024),
    blocks: num(4, 'blocks', 2 ** 24),
    kernel: file(5, 'kernel', false),
    miniroot: file(6, 'miniroot', false),
    index: file(7, 'index', true),
  };
  if (m.index.size !== 32 + 40 * m.blocks) throw new Error('the index size does not match the block count');
  if (Math.ceil(m.image_bytes / m.block_size) !== m.blocks) throw new Error('the block count does not match the image size');
  return m;
}
