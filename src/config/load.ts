/**
 * Reading inetboot.yaml: the file's bytes (a regular file of sane size, valid UTF-8), YAML with
 * positions, the zod schema, then the cross-field rules, and last the host files the config
 * names (tls.ca_bundle). Every problem is turned into a ConfigProblem that names the file, the
 * line and the key path; all of them are collected and thrown as one ConfigError.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Pair, type YAMLError } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { hostFileProblems } from './host-files.js';
import { checkRules, type Locate, type PathSegment } from './rules.js';
import { configSchema, type Config } from './schema.js';
import { firstInvalidUtf8 } from './text.js';

export interface LoadedConfig {
  file: string;
  text: string;
  doc: Document;
  config: Config;
  /** The line of a key path (or of its nearest parent). */
  locate: Locate;
}

/** A config is a few KB; anything near this is not one (and /dev/zero would never end). */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export async function loadConfig(file: string): Promise<LoadedConfig> {
  const text = decodeConfig(await readConfigBytes(file), file);
  const loaded = parseConfig(text, file);
  const problems = hostFileProblems(loaded.config, file, loaded.locate);
  if (problems.length > 0) throw new ConfigError(byLine(problems));
  return loaded;
}

async function readConfigBytes(file: string): Promise<Buffer> {
  const problem = (message: string, cause?: unknown) => new ConfigError([{ file, path: '', message }], cause === undefined ? undefined : { cause });
  let fh;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore it.
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw problem(code === 'ENOENT' ? 'no such file: run "inetboot init" to create one, or pass -c PATH' : `cannot read it: ${(err as Error).message}`, err);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw problem('is a directory: pass -c with the path of a config file');
    if (!st.isFile()) throw problem('is not a regular file (a device, FIFO or socket): pass -c with the path of a config file');
    if (st.size > MAX_CONFIG_BYTES) throw problem(`is ${st.size} bytes: a config is a few kilobytes, and at most ${MAX_CONFIG_BYTES / 1048576} MiB is read`);
    const bytes = await fh.readFile();
    if (bytes.length > MAX_CONFIG_BYTES) throw problem(`grew past ${MAX_CONFIG_BYTES / 1048576} MiB while it was read`);
    return bytes;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw problem(`cannot read it: ${(err as Error).message}`, err);
  } finally {
    await fh.close();
  }
}

/**
 * The file as text. Invalid UTF-8 is refused with its line and column: decoding it anyway would
 * turn the byte into U+FFFD, and the menu and the entry data would silently differ from the file.
 */
export function decodeConfig(bytes: Buffer, file: string): string {
  const bad = firstInvalidUtf8(bytes);
  if (bad < 0) return bytes.toString('utf8');
  // (lastIndexOf with a negative start would count from the end.)
  const lineStart = bad === 0 ? 0 : bytes.lastIndexOf(0x0a, bad - 1) + 1;
  const line = bytes.subarray(0, bad).reduce((n, b) => n + (b === 0x0a ? 1 : 0), 1);
  const byte = bytes[bad]!.toString(16).toUpperCase().padStart(2, '0');
  throw new ConfigError([
    {
      file,
      line,
      path: '',
      message: `is not valid UTF-8: byte 0x${byte} at column ${bad - lineStart + 1} is not part of a UTF-8 character; save the file as UTF-8 (inetboot does not guess other encodings)`,
    },
  ]);
}

export function parseConfig(text: string, file: string): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  const syntax = yamlProblems(doc, file, lineAt);
  if (syntax.length > 0) throw new ConfigError(syntax);

  const locate = locator(doc, lineAt);
  const aliases = unresolvedAliases(doc, file, lineAt);
  if (aliases.length > 0) throw new ConfigError(aliases);
  let input: unknown;
  try {
    input = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    // What is left here is the alias-count limit ("billion laughs"); names of aliases are checked above.
    throw new ConfigError([{ file, path: '', message: `cannot read the YAML: ${(err as Error).message}: write the values out instead of repeating aliases (*name)` }]);
  }
  if (!isPlainObject(input)) {
    throw new ConfigError([{ file, line: locate([]), path: '', message: `must be a YAML mapping of the keys ${allowedKeys([])?.join(', ')}, like the file "inetboot init" writes` }]);
  }
  const surrogates = loneSurrogates(input, []).map((path) => ({
    file,
    line: locate(path),
    path: formatPath(path),
    message: 'contains a lone UTF-16 surrogate (an escape such as "\\ud800" without its pair), which is not a character: write the character itself',
  }));
  if (surrogates.length > 0) throw new ConfigError(byLine(surrogates));

  const result = configSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues
      .flatMap((issue) => explain(issue, [], input))
      .map(({ path, message }) => ({ file, line: locate(path), path: formatPath(path), message }));
    throw new ConfigError(byLine(problems));
  }
  const ruleProblems = checkRules(result.data, file, locate);
  if (ruleProblems.length > 0) throw new ConfigError(byLine(ruleProblems));
  return { file, text, doc, config: result.data, locate };
}

/**
 * For the commands that build a medium: a config without entries is refused with its file and
 * line (an empty file has no line: it has nothing at all).
 */
export function requireEntries(loaded: Pick<LoadedConfig, 'file' | 'config' | 'locate' | 'text'>): void {
  if (loaded.config.entries.length > 0) return;
  const empty = loaded.text.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('#'));
  throw new ConfigError([
    empty
      ? { file: loaded.file, path: '', message: 'is empty: it has no entries to boot; add one with "inetboot add-entry", or start from the example with "inetboot init --force"' }
      : { file: loaded.file, line: loaded.locate(['entries']), path: 'entries', message: 'lists no entries: a boot medium needs at least one; add one with "inetboot add-entry"' },
  ]);
}

/** Aliases (*name) whose anchor (&name) is not set before them: yaml fails only in toJS(), without a line. */
function unresolvedAliases(doc: Document, file: string, lineAt: (offset: number) => number): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  visit(doc, {
    Alias(_key, node, ancestors) {
      if (node.resolve(doc) !== undefined) return;
      const line = node.range ? lineAt(node.range[0]) : undefined;
      problems.push({ file, line, path: formatPath(keyPath(ancestors, node)), message: `the alias *${node.source} has no anchor &${node.source} before it: set the anchor first, or write the value out` });
    },
  });
  return problems;
}

/** The key path of a node from the ancestors yaml's visit() gives. */
function keyPath(ancestors: readonly unknown[], node: unknown): PathSegment[] {
  const path: PathSegment[] = [];
  const chain = [...ancestors, node];
  for (let i = 0; i < chain.length - 1; i++) {
    const here = chain[i];
    const next = chain[i + 1];
    if (isSeq(here)) path.push(here.items.indexOf(next as never));
    else if (here && typeof here === 'object' && 'key' in here && (here as Pair).value === next) path.push(keyText((here as Pair).key));
  }
  return path;
}

/** Paths of every string (key or value) holding an unpaired surrogate. */
function loneSurrogates(value: unknown, path: PathSegment[]): PathSegment[][] {
  const bad = (s: string) => /\p{Cs}/u.test(s);
  if (typeof value === 'string') return bad(value) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => loneSurrogates(v, [...path, i]));
  if (isPlainObject(value)) return Object.entries(value).flatMap(([k, v]) => (bad(k) ? [[...path, k]] : loneSurrogates(v, [...path, k])));
  return [];
}

/** `entries[1].kernel.sha256`; keys that are not plain words are quoted. */
export function formatPath(path: readonly PathSegment[]): string {
  return path
    .map((seg, i) => {
      if (typeof seg === 'number') return `[${seg}]`;
      const key = /^[A-Za-z_][\w-]*$/.test(seg) ? seg : JSON.stringify(seg);
      return i === 0 ? key : `.${key}`;
    })
    .join('');
}

/**
 * Lines come from the key, not the value, so that a block value that starts on the next
 * line still points at its key. A path that does not exist (a missing key) gets the line
 * of its nearest parent.
 */
export function locator(doc: Document, lineAt: (offset: number) => number): Locate {
  return (path) => {
    let node: unknown = doc.contents;
    let line = startLine(node, lineAt);
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p.key) === String(seg));
        if (!pair) return line;
        line = startLine(pair.key, lineAt) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        node = node.items[seg];
        line = startLine(node, lineAt) ?? line;
      } else {
        return line;
      }
    }
    return line;
  };
}

export function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function startLine(node: unknown, lineAt: (offset: number) => number): number | undefined {
  const range = (node as { range?: [number, number, number] | null } | null)?.range;
  return range ? lineAt(range[0]) : undefined;
}

function yamlProblems(doc: Document, file: string, lineAt: (offset: number) => number): ConfigProblem[] {
  const duplicates = doc.errors.filter((e) => e.code === 'DUPLICATE_KEY').map((e) => duplicateKey(doc, e, file, lineAt));
  // After the first real syntax error the parser's further complaints are mostly echoes of it.
  const first = [...doc.errors.filter((e) => e.code !== 'DUPLICATE_KEY'), ...doc.warnings][0];
  const problems = first ? [...duplicates, { file, line: lineAt(first.pos[0]), path: '', message: syntaxMessage(first) }] : duplicates;
  return byLine(problems);
}

function syntaxMessage(e: YAMLError): string {
  if (e.code === 'MULTIPLE_DOCS') return 'the file holds more than one YAML document (a "---" line after the first keys): keep one';
  if (e.code === 'TAG_RESOLVE_FAILED') return `YAML: ${e.message}: this config uses no YAML tags, remove it`;
  return `YAML syntax error: ${e.message}`;
}

function duplicateKey(doc: Document, e: YAMLError, file: string, lineAt: (offset: number) => number): ConfigProblem {
  const found = findKey(doc.contents, e.pos[0], []);
  if (!found) return { file, line: lineAt(e.pos[0]), path: '', message: 'duplicate key: each key may appear once in a mapping' };
  const name = keyText(found.pair.key);
  const earlier = found.siblings.find((p) => p !== found.pair && keyText(p.key) === name);
  const firstLine = earlier ? startLine(earlier.key, lineAt) : undefined;
  return {
    file,
    line: lineAt(e.pos[0]),
    path: formatPath(found.path),
    message: `duplicate key "${name}": it is already set${firstLine === undefined ? '' : ` on line ${firstLine}`}; keep one of them`,
  };
}

function findKey(node: unknown, offset: number, path: PathSegment[]): { pair: Pair; siblings: Pair[]; path: PathSegment[] } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const here = [...path, keyText(pair.key)];
      if (startOffset(pair.key) === offset) return { pair, siblings: node.items, path: here };
      const inner = findKey(pair.value, offset, here);
      if (inner) return inner;
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      const inner = findKey(item, offset, [...path, i]);
      if (inner) return inner;
    }
  }
  return undefined;
}

function startOffset(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] | null } | null)?.range?.[0];
}

interface Explained {
  path: PathSegment[];
  message: string;
}

/** One zod issue in words a person can act on; never zod's own defaults. */
function explain(issue: z.core.$ZodIssue, base: PathSegment[], input: unknown): Explained[] {
  const path = [...base, ...(issue.path as PathSegment[])];
  const value = valueAt(input, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(path) ?? [];
      return issue.keys.map((key) => ({ path: [...path, key], message: unknownKey(key, allowed) }));
    }
    case 'invalid_union': {
      // Of `URL | {url, sha256}`, the branch whose top-level type fits the value is the one
      // the writer meant: show its complaint (e.g. about sha256), not "matches neither".
      const fitting = issue.errors.filter((errs) => !errs.some((e) => e.code === 'invalid_type' && e.path.length === 0));
      const [only] = fitting;
      if (fitting.length === 1 && only && value !== undefined) return only.flatMap((e) => explain(e, path, input));
      return [{ path, message: found(value, undefined, issue.message) }];
    }
    case 'invalid_type': {
      const message =
        issue.expected === 'object' && issue.message.startsWith('Invalid input')
          ? `must be a mapping with the keys ${(allowedKeys(path) ?? []).join(', ')}`
          : issue.message;
      return [{ path, message: found(value, issue.expected, message) }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

/** Prefixes what the value actually is when that is the problem: `is a number: must be ...`. */
function found(value: unknown, expected: string | undefined, message: string): string {
  if (value === undefined) return `is missing: ${message}`;
  if (value === null) return `is empty: ${message}`;
  const kind = Array.isArray(value) ? 'list' : typeof value === 'object' ? 'mapping' : typeof value;
  const wanted: Record<string, string> = { int: 'number', object: 'mapping', array: 'list' };
  if (expected !== undefined && (wanted[expected] ?? expected) === kind) return message;
  const article = kind === 'list' || kind === 'mapping' || kind === 'string' || kind === 'number' || kind === 'boolean' ? 'a ' : '';
  return `is ${article}${kind === 'boolean' ? 'boolean (true/false)' : kind}: ${message}`;
}

function unknownKey(key: string, allowed: readonly string[]): string {
  const near = allowed.find((k) => editDistance(k, key.toLowerCase()) <= 2);
  return `unknown key "${key}": allowed keys are ${allowed.join(', ')}${near ? ` (did you mean "${near}"?)` : ''}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The keys the schema allows in the mapping at `path`, read from the schema itself. */
export function allowedKeys(path: readonly PathSegment[]): string[] | undefined {
  let schema: unknown = configSchema;
  for (const seg of [...path, undefined]) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodUnion) schema = (schema.options as unknown[]).map(unwrap).find((o) => o instanceof z.ZodObject);
    if (seg === undefined) return schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined;
    if (schema instanceof z.ZodArray && typeof seg === 'number') schema = schema.element;
    else if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, unknown>)[String(seg)];
    else return undefined;
  }
  return undefined;
}

function unwrap(schema: unknown): unknown {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodPipe) s = s.in;
    else if (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap();
    else return s;
  }
}

function valueAt(input: unknown, path: readonly PathSegment[]): unknown {
  let v = input;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function byLine(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
}
