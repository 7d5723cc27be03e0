/**
 * Comment-preserving edits of inetboot.yaml.
 *
 * yaml's Document.toString() keeps comments but not their layout (it moves inline comments
 * and blank lines), so edits of the usual block layout are made as splices of the original
 * text at positions the parsed Document gives: every byte outside the edited lines stays
 * as it was. Layouts the splices do not handle (a flow-style root mapping or a non-empty
 * flow-style entries list) fall back to editing the Document and printing it whole.
 *
 * Every result is parsed and validated again before it is returned, so a caller never
 * writes a file that inetboot itself would refuse.
 *
 * Removing the default entry: `default:` is set to the first remaining entry (keeping the
 * line and its comment), or removed when no entry remains.
 */
import { Document, isMap, isSeq, Scalar, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { ConfigError, UsageError } from '../errors.js';
import { keyText, parseConfig, type LoadedConfig } from './load.js';
import type { Artifact } from './schema.js';

/** An entry as add-entry writes it; values are expected to have passed the schema. */
export interface NewEntry {
  id: string;
  title: string;
  /** Exactly one of kernel and root. */
  kernel?: Artifact;
  initrd?: Artifact;
  root?: Artifact;
  append?: string;
}

interface Splice {
  start: number;
  end: number;
  text: string;
}

export function addEntry(loaded: LoadedConfig, entry: NewEntry, opts: { makeDefault?: boolean } = {}): string {
  const { config, file } = loaded;
  const taken = config.entries.findIndex((e) => e.id === entry.id);
  if (taken >= 0) {
    throw new UsageError(`${file}: an entry with id "${entry.id}" exists already (entries[${taken}]): choose another id, or remove that entry first (inetboot remove-entry ${entry.id})`);
  }
  const text = spliceAdd(loaded, entry, opts.makeDefault ?? false) ?? viaDocument(loaded, (doc) => {
    doc.addIn(['entries'], entryNode(doc, entry));
    if (opts.makeDefault) doc.set('default', entry.id);
  });
  const wantDefault = opts.makeDefault ? entry.id : config.default;
  return revalidate(text, loaded, (c) => c.entries.length === config.entries.length + 1 && c.entries.at(-1)?.id === entry.id && c.default === wantDefault);
}

export function removeEntry(loaded: LoadedConfig, id: string): string {
  const { config, file } = loaded;
  const index = config.entries.findIndex((e) => e.id === id);
  if (index < 0) {
    const ids = config.entries.map((e) => e.id);
    throw new UsageError(`${file}: no entry has id "${id}": ${ids.length ? `the ids are ${ids.join(', ')}` : 'the config has no entries'}`);
  }
  const remaining = config.entries.filter((_, i) => i !== index);
  const newDefault = config.default === id ? remaining[0]?.id : config.default;
  const text = spliceRemove(loaded, index, newDefault) ?? viaDocument(loaded, (doc) => {
    doc.deleteIn(['entries', index]);
    if (newDefault === undefined) doc.delete('default');
    else doc.set('default', newDefault);
  });
  return revalidate(text, loaded, (c) => c.entries.length === remaining.length && !c.entries.some((e) => e.id === id) && c.default === newDefault);
}

/** Makes entry `id` the default: replaces the value of `default:`, or adds that line before `entries:`. */
export function setDefault(loaded: LoadedConfig, id: string): string {
  const { config, file } = loaded;
  if (!config.entries.some((e) => e.id === id)) {
    const ids = config.entries.map((e) => e.id);
    throw new UsageError(`${file}: no entry has id "${id}": ${ids.length ? `the ids are ${ids.join(', ')}` : 'the config has no entries'}`);
  }
  const text = spliceDefault(loaded, id) ?? viaDocument(loaded, (doc) => doc.set('default', id));
  return revalidate(text, loaded, (c) => c.default === id && c.entries.length === config.entries.length);
}

function revalidate(text: string, loaded: LoadedConfig, isExpected: (c: LoadedConfig['config']) => boolean): string {
  let result: LoadedConfig;
  try {
    result = parseConfig(text, loaded.file);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.problems, { hint: `${loaded.file} was not changed`, cause: err });
    throw err;
  }
  if (!isExpected(result.config)) throw new Error(`editing ${loaded.file} did not give the expected entries; the file was not changed`);
  return text;
}

function viaDocument(loaded: LoadedConfig, edit: (doc: Document) => void): string {
  const doc = loaded.doc.clone();
  edit(doc);
  return doc.toString({ lineWidth: 0 });
}

/** The edit as splices of the original text, or undefined when the layout needs viaDocument. */
function spliceAdd(loaded: LoadedConfig, entry: NewEntry, makeDefault: boolean): string | undefined {
  const { text, doc } = loaded;
  const t = new TextPos(text);
  const root = doc.contents;
  if (root !== null && (!isMap(root) || root.flow)) return undefined;
  const rootCol = root?.range ? t.column(root.range[0]) : 0;
  const pad = ' '.repeat(rootCol);
  const entries = root ? findPair(root, 'entries') : undefined;
  const current = root ? findPair(root, 'default') : undefined;
  const splices: Splice[] = [];
  const defaultLine = `${pad}default: ${scalarText(entry.id)}${t.eol}`;
  if (makeDefault && (current || entries)) splices.push(defaultSplice(t, root!, entry.id));

  const seq = entries?.value;
  if (!entries) {
    const head = makeDefault && !current ? defaultLine : '';
    const at = text.length;
    const sep = text === '' || text.endsWith('\n') ? '' : t.eol;
    splices.push({ start: at, end: at, text: `${sep}${head}${pad}entries:${t.eol}${renderItem(entry, rootCol + 2, rootCol + 4, t.eol)}` });
  } else if (isSeq(seq) && seq.flow && seq.items.length === 0 && seq.range) {
    // `entries: []`: drop the brackets, keep a comment after them, add a block list below.
    const colon = text.lastIndexOf(':', seq.range[0]);
    splices.push({ start: colon + 1, end: seq.range[1], text: '' });
    const at = t.after(seq);
    splices.push({ start: at, end: at, text: (at === text.length && !text.endsWith('\n') ? t.eol : '') + renderItem(entry, rootCol + 2, rootCol + 4, t.eol) });
  } else if (isSeq(seq) && !seq.flow) {
    const last = seq.items.at(-1) as Node;
    const dash = t.previousNonSpace(range(last)[0]);
    if (text[dash] !== '-') return undefined;
    const dashCol = t.column(dash);
    const itemCol = t.column(range(last)[0]);
    // Keep the list's rhythm: a blank line between entries if the file has them.
    const blank = seq.items.length > 1 && (seq.items[1] as Node).spaceBefore ? t.eol : '';
    const at = t.after(last);
    const sep = at === text.length && !text.endsWith('\n') ? t.eol : '';
    splices.push({ start: at, end: at, text: sep + blank + renderItem(entry, dashCol, itemCol, t.eol) });
  } else {
    return undefined;
  }
  return applySplices(text, splices);
}

/**
 * The splice that makes `id` the default in a block-mapping root that has `default:` or
 * `entries:`: the value of `default:` replaced (its comment kept in place), or a new line after
 * the key before `entries:`, so that comments written above `entries:` stay above it.
 */
function defaultSplice(t: TextPos, root: YAMLMap, id: string): Splice {
  const current = findPair(root, 'default');
  if (current) return t.replaceScalar(current.value as Node, scalarText(id));
  const entries = findPair(root, 'entries');
  if (!entries) throw new Error('internal: defaultSplice needs default: or entries:');
  const rootCol = root.range ? t.column(root.range[0]) : 0;
  const before = root.items[root.items.indexOf(entries) - 1];
  const at = before ? t.after(before.value as Node) : t.lineStart(range(entries.key)[0]);
  return { start: at, end: at, text: `${' '.repeat(rootCol)}default: ${scalarText(id)}${t.eol}` };
}

function spliceDefault(loaded: LoadedConfig, id: string): string | undefined {
  const root = loaded.doc.contents;
  if (!isMap(root) || root.flow || (!findPair(root, 'default') && !findPair(root, 'entries'))) return undefined;
  const current = findPair(root, 'default');
  if (current && !isScalarNode(current.value)) return undefined;
  return applySplices(loaded.text, [defaultSplice(new TextPos(loaded.text), root, id)]);
}

function isScalarNode(node: unknown): boolean {
  return node instanceof Scalar && node.range !== undefined && node.range !== null;
}

function spliceRemove(loaded: LoadedConfig, index: number, newDefault: string | undefined): string | undefined {
  const { text, doc } = loaded;
  const t = new TextPos(text);
  const root = doc.contents;
  if (!isMap(root) || root.flow) return undefined;
  const entries = findPair(root, 'entries');
  const seq = entries?.value;
  if (!entries || !isSeq(seq) || seq.flow) return undefined;
  const item = seq.items[index] as Node;
  const dash = t.previousNonSpace(range(item)[0]);
  if (text[dash] !== '-') return undefined;

  const splices: Splice[] = [];
  // One of the blank lines around the entry goes with it, so that entries separated by
  // blank lines stay separated by one.
  const lineStart = t.lineStart(dash);
  const start = t.skipBlankLinesBack(lineStart);
  const end = start < lineStart ? t.after(item) : t.skipBlankLinesForward(t.after(item));
  splices.push({ start, end, text: '' });
  if (seq.items.length === 1) {
    // An empty block list would read as `entries: null`.
    const colon = text.indexOf(':', range(entries.key)[1]);
    splices.push({ start: colon + 1, end: colon + 1, text: ' []' });
  }
  const current = findPair(root, 'default');
  if (current && newDefault === undefined) {
    splices.push({ start: t.lineStart(range(current.key)[0]), end: t.after(current.value as Node), text: '' });
  } else if (current && newDefault !== undefined && newDefault !== loaded.config.default) {
    splices.push(t.replaceScalar(current.value as Node, scalarText(newDefault)));
  }
  return applySplices(text, splices);
}

function renderItem(entry: NewEntry, dashCol: number, itemCol: number, eol: string): string {
  const doc = new Document();
  doc.contents = entryNode(doc, entry);
  const lines = doc.toString({ lineWidth: 0, indent: 2 }).trimEnd().split('\n');
  const first = ' '.repeat(dashCol) + '-' + ' '.repeat(Math.max(1, itemCol - dashCol - 1));
  return lines.map((l, i) => (i === 0 ? first : ' '.repeat(itemCol)) + l + eol).join('');
}

/** Short form `kernel: URL` unless pinned; a pin is a block mapping with sha256 always quoted. */
function entryNode(doc: Document, entry: NewEntry): YAMLMap {
  const artifact = (a: Artifact): unknown => {
    if (a.sha256 === undefined) return a.url;
    const sha = new Scalar(a.sha256);
    sha.type = Scalar.QUOTE_DOUBLE;
    const map = doc.createNode({ url: a.url, sha256: sha }) as YAMLMap;
    map.flow = false;
    return map;
  };
  const value: Record<string, unknown> = { id: entry.id, title: entry.title };
  if (entry.kernel) value.kernel = artifact(entry.kernel);
  if (entry.initrd) value.initrd = artifact(entry.initrd);
  if (entry.root) value.root = artifact(entry.root);
  if (entry.append !== undefined) value.append = entry.append;
  return doc.createNode(value) as YAMLMap;
}

/** A string as YAML writes it: plain when that reads back as the same string, else quoted. */
function scalarText(s: string): string {
  return new Document(s).toString({ lineWidth: 0 }).trimEnd();
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => keyText(p.key) === key);
}

function range(node: unknown): [number, number, number] {
  const r = (node as Node | null)?.range;
  if (!r) throw new Error('yaml node without a source position');
  return r;
}

function applySplices(text: string, splices: Splice[]): string {
  return [...splices].sort((a, b) => b.start - a.start).reduce((acc, s) => acc.slice(0, s.start) + s.text + acc.slice(s.end), text);
}

/** Offsets in the original text, in whole lines. */
class TextPos {
  readonly eol: string;
  constructor(private readonly text: string) {
    this.eol = text.includes('\r\n') ? '\r\n' : '\n';
  }
  lineStart(offset: number): number {
    return this.text.lastIndexOf('\n', offset - 1) + 1;
  }
  column(offset: number): number {
    return offset - this.lineStart(offset);
  }
  /** The start of the line after the one where the node's value ends. */
  after(node: Node | YAMLSeq): number {
    const end = range(node)[1];
    if (end > 0 && this.text[end - 1] === '\n') return end;
    const nl = this.text.indexOf('\n', end);
    return nl < 0 ? this.text.length : nl + 1;
  }
  /** Replaces a one-line value and keeps a comment after it in its column. */
  replaceScalar(node: Node, text: string): Splice {
    const [start, end] = range(node);
    const spaces = /^ +(?=#)/.exec(this.text.slice(end))?.[0].length ?? 0;
    if (spaces === 0) return { start, end, text };
    const pad = Math.max(1, end - start + spaces - text.length);
    return { start, end: end + spaces, text: text + ' '.repeat(pad) };
  }
  previousNonSpace(offset: number): number {
    let i = offset - 1;
    while (i >= 0 && /\s/.test(this.text[i] ?? '')) i--;
    return i;
  }
  /** From a line start, over the blank lines that start there. */
  skipBlankLinesForward(lineStart: number): number {
    let end = lineStart;
    while (end < this.text.length) {
      const next = this.text.indexOf('\n', end);
      const lineEnd = next < 0 ? this.text.length : next + 1;
      if (this.text.slice(end, lineEnd).trim() !== '') break;
      end = lineEnd;
    }
    return end;
  }
  /** From a line start, back over the blank lines just above it. */
  skipBlankLinesBack(lineStart: number): number {
    let start = lineStart;
    while (start > 0) {
      const prev = this.lineStart(start - 1);
      if (this.text.slice(prev, start).trim() !== '') break;
      start = prev;
    }
    return start;
  }
}
