/**
 * Reading inetboot.yaml in three steps: YAML with positions, the zod schema, then the
 * cross-field rules. Every problem is turned into a ConfigProblem that names the file,
 * the line and the key path; all of them are collected and thrown as one ConfigError.
 */
import { readFile } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Pair, type YAMLError } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { checkRules, type Locate, type PathSegment } from './rules.js';
import { configSchema, type Config } from './schema.js';

export interface LoadedConfig {
  file: string;
  text: string;
  doc: Document;
  config: Config;
}

export async function loadConfig(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'no such file: run "inetboot init" to create one, or pass -c PATH'
        : code === 'EISDIR'
          ? 'is a directory: pass -c with the path of a config file'
          : `cannot read it: ${(err as Error).message}`;
    throw new ConfigError([{ file, path: '', message }], { cause: err });
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file: string): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  const syntax = yamlProblems(doc, file, lineAt);
  if (syntax.length > 0) throw new ConfigError(syntax);

  const locate = locator(doc, lineAt);
  let input: unknown;
  try {
    input = doc.toJS() ?? {};
  } catch (err) {
    // An alias whose anchor is missing only fails here, not while parsing.
    throw new ConfigError([{ file, path: '', message: `cannot read the YAML: ${(err as Error).message}` }]);
  }
  if (!isPlainObject(input)) {
    throw new ConfigError([{ file, line: locate([]), path: '', message: `must be a YAML mapping of the keys ${allowedKeys([])?.join(', ')}, like the file "inetboot init" writes` }]);
  }

  const result = configSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues
      .flatMap((issue) => explain(issue, [], input))
      .map(({ path, message }) => ({ file, line: locate(path), path: formatPath(path), message }));
    throw new ConfigError(byLine(problems));
  }
  const ruleProblems = checkRules(result.data, file, locate);
  if (ruleProblems.length > 0) throw new ConfigError(byLine(ruleProblems));
  return { file, text, doc, config: result.data };
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
