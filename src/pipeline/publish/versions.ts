/**
 * The versions of a published tree, and pruning what none of the kept ones uses (README,
 * "Versions and pruning"):
 *
 *   DIR/versions/SHA256.json   each manifest publish wrote, named by its sha256 (immutable)
 *   DIR/versions/history       "SHA256 ISO-TIME" per publish, oldest first (rewritten whole)
 *
 * `inetboot publish --prune DIR --keep N` keeps the last N versions of the history and the one
 * root.json names (always: it is what boots), and removes every block, index, kernel and
 * miniroot and profile that none of them names, with the temporary files a crashed publish left. It holds
 * the tree's lock (publish holds it too), so it never removes what a publish is adding. Every
 * kept manifest and index is checked against its sha256 before what it names is trusted: a
 * tree that does not check out is refused, and nothing is removed.
 */
import { sha256Hex } from '../../files/hash.js';
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OperationError } from '../../errors.js';
import { writeFileReplacing } from '../../files/replace.js';
import { indexBlockNames } from './index-file.js';
import { MANIFEST_NAME, parseManifest, type RootManifest } from './manifest.js';

export const VERSIONS_DIR = 'versions';
export const HISTORY = 'history';
export const DEFAULT_KEEP = 2;
/** The folders of DIR that hold files named by their sha256 (besides blocks/). */
export const CONTENT_KINDS = ['index', 'kernel', 'miniroot', 'profile'] as const;
const SHA = /^[0-9a-f]{64}$/;

const sha256 = sha256Hex;

export interface HistoryLine {
  sha256: string;
  at: string;
}

/** Reads DIR/versions/history; a missing file is an empty history, a bad line an error. */
export function readHistory(out: string): HistoryLine[] {
  const file = join(out, VERSIONS_DIR, HISTORY);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((line, i) => {
      const m = /^([0-9a-f]{64}) (\S+)$/.exec(line);
      if (!m) {
        throw new OperationError(`${file}:${i + 1}: is not "SHA256 TIME": this tree's history is damaged; nothing was changed`, {
          hint: `remove that line (or the file, which then keeps only the version root.json names) and run again`,
        });
      }
      return { sha256: m[1]!, at: m[2]! };
    });
}

/** Records a published manifest: versions/SHA256.json, then the history with it last. */
export async function recordVersion(out: string, manifestText: string, signal?: AbortSignal): Promise<string> {
  const sha = sha256(manifestText);
  await writeFileReplacing(join(out, VERSIONS_DIR, `${sha}.json`), manifestText, { signal });
  const history = readHistory(out).filter((h) => h.sha256 !== sha);
  history.push({ sha256: sha, at: new Date().toISOString() });
  await writeFileReplacing(join(out, VERSIONS_DIR, HISTORY), history.map((h) => `${h.sha256} ${h.at}\n`).join(''), { signal });
  return sha;
}

/** A kept manifest and everything it names, checked. */
function namedBy(out: string, text: string, where: string): Set<string> {
  let m: RootManifest;
  try {
    m = parseManifest(text);
  } catch (err) {
    throw new OperationError(`${where}: ${(err as Error).message}; nothing was removed`, { cause: err });
  }
  const files = new Set<string>([m.kernel.path, m.miniroot.path, m.index.path, ...(m.profile ? [m.profile.path] : [])]);
  const indexFile = join(out, m.index.path);
  let index: Buffer;
  try {
    index = readFileSync(indexFile);
  } catch (err) {
    throw new OperationError(`${where} names ${m.index.path}, which is not there: the tree is damaged; nothing was removed`, { cause: err });
  }
  if (sha256(index) !== m.index.sha256) throw new OperationError(`${indexFile}: its sha256 is not the one ${where} names: the tree is damaged; nothing was removed`);
  for (const b of indexBlockNames(index, indexFile)) files.add(`blocks/${b}`);
  return files;
}

export interface PruneResult {
  kept: string[];
  dropped: string[];
  files_removed: number;
  blocks_removed: number;
  bytes_removed: number;
}

/** Must run under the tree's lock (publish.ts, withTreeLock). */
export async function prune(out: string, keep: number, signal?: AbortSignal): Promise<PruneResult> {
  const current = join(out, MANIFEST_NAME);
  if (!existsSync(current)) throw new OperationError(`${out} has no ${MANIFEST_NAME}: it is not a tree inetboot publish wrote; nothing was removed`);
  const currentText = readFileSync(current, 'utf8');
  const history = readHistory(out);
  const kept = [...new Set([...history.slice(-keep).map((h) => h.sha256), sha256(currentText)])];
  const dropped = history.map((h) => h.sha256).filter((s) => !kept.includes(s));

  const used = new Set<string>(namedBy(out, currentText, current));
  for (const sha of kept) {
    const file = join(out, VERSIONS_DIR, `${sha}.json`);
    if (!existsSync(file)) {
      if (sha === sha256(currentText)) continue; // published before versions/ existed
      throw new OperationError(`${file} is missing, but the history keeps it: the tree is damaged; nothing was removed`);
    }
    const text = readFileSync(file, 'utf8');
    if (sha256(text) !== sha) throw new OperationError(`${file}: its sha256 is not its name: the tree is damaged; nothing was removed`);
    for (const f of namedBy(out, text, file)) used.add(f);
    used.add(`${VERSIONS_DIR}/${sha}.json`);
  }

  // Everything else under the content-addressed folders goes, and what a crashed publish left.
  const result: PruneResult = { kept, dropped, files_removed: 0, blocks_removed: 0, bytes_removed: 0 };
  const remove = (rel: string) => {
    signal?.throwIfAborted();
    const path = join(out, rel);
    const st = lstatSync(path);
    result.bytes_removed += st.isFile() ? st.size : 0;
    rmSync(path, { recursive: true, force: true });
    result.files_removed++;
    if (rel.startsWith('blocks/')) result.blocks_removed++;
  };
  const list = (rel: string) => (existsSync(join(out, rel)) ? readdirSync(join(out, rel)) : []);
  for (const shard of list('blocks')) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const f of list(`blocks/${shard}`)) if (!used.has(`blocks/${shard}/${f}`)) remove(`blocks/${shard}/${f}`);
  }
  for (const kind of CONTENT_KINDS) {
    for (const f of list(kind)) if ((SHA.test(f) || f.startsWith('.')) && !used.has(`${kind}/${f}`)) remove(`${kind}/${f}`);
  }
  for (const f of list(VERSIONS_DIR)) {
    if (f === HISTORY) continue;
    if ((/^[0-9a-f]{64}\.json$/.test(f) || f.startsWith('.')) && !used.has(`${VERSIONS_DIR}/${f}`)) remove(`${VERSIONS_DIR}/${f}`);
  }
  for (const f of list('')) if (f.startsWith('.publish-')) remove(f);
  const left = history.filter((h) => kept.includes(h.sha256));
  if (left.length !== history.length) {
    await writeFileReplacing(join(out, VERSIONS_DIR, HISTORY), left.map((h) => `${h.sha256} ${h.at}\n`).join(''), { signal });
  }
  return result;
}
