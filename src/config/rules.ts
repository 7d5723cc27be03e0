/**
 * Cross-field rules: what one key cannot check alone. They run on a config that
 * passed the schema, so every value here already has its type.
 */
import type { ConfigProblem } from '../errors.js';
import { ARTIFACT_FIELDS, type Config } from './schema.js';
import { cmdlineRules } from './cmdline-rules.js';
import { networkRules } from './network-rules.js';

export type PathSegment = string | number;
/** The 1-based line of a key path in the file, or of its nearest existing parent. */
export type Locate = (path: readonly PathSegment[]) => number | undefined;

export function checkRules(config: Config, file: string, locate: Locate): ConfigProblem[] {
  return [...duplicateIds(config, file, locate), ...defaultExists(config, file, locate), ...mirrorGroupsExist(config, file, locate), ...entryKinds(config, file, locate), ...networkRules(config, file, locate), ...cmdlineRules(config, file, locate)];
}

function duplicateIds(config: Config, file: string, locate: Locate): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const first = new Map<string, number>();
  config.entries.forEach((entry, i) => {
    const seen = first.get(entry.id);
    if (seen === undefined) {
      first.set(entry.id, i);
      return;
    }
    const firstLine = locate(['entries', seen, 'id']);
    problems.push({
      file,
      line: locate(['entries', i, 'id']),
      path: `entries[${i}].id`,
      message: `duplicate id "${entry.id}": entries[${seen}]${firstLine === undefined ? '' : ` on line ${firstLine}`} has it already; give each entry its own id`,
    });
  });
  return problems;
}

function defaultExists(config: Config, file: string, locate: Locate): ConfigProblem[] {
  const id = config.default;
  if (id === undefined || config.entries.some((e) => e.id === id)) return [];
  const ids = [...new Set(config.entries.map((e) => e.id))];
  const message =
    ids.length === 0
      ? `no entry has id "${id}", because there are no entries: add one (inetboot add-entry), or remove the default key`
      : `no entry has id "${id}": write one of ${ids.join(', ')}`;
  return [{ file, line: locate(['default']), path: 'default', message }];
}

/** `mirror: GROUP` must name a group under the top-level `mirrors:`. */
function mirrorGroupsExist(config: Config, file: string, locate: Locate): ConfigProblem[] {
  const groups = Object.keys(config.mirrors ?? {});
  const problems: ConfigProblem[] = [];
  config.entries.forEach((entry, i) => {
    for (const field of ARTIFACT_FIELDS) {
      const name = entry[field]?.mirror;
      if (name === undefined || groups.includes(name)) continue;
      const message =
        groups.length === 0
          ? `no mirror group "${name}", because the config has no mirrors: add "mirrors:" with "${name}:" and a list of base URLs, or write urls: [URL, ...]`
          : `no mirror group "${name}": write one of ${groups.join(', ')}, or add "${name}:" under mirrors:`;
      problems.push({ file, line: locate(['entries', i, field, 'mirror']), path: `entries[${i}].${field}.mirror`, message });
    }
  });
  return problems;
}

/**
 * An entry boots exactly one thing: a kernel (under Xen when hypervisor: is given), an iscript,
 * a published root, or a shell. The keys that only make sense with one of them are refused elsewhere.
 */
function entryKinds(config: Config, file: string, locate: Locate): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.entries.forEach((e, i) => {
    const at = (key: string | undefined, message: string) =>
      problems.push({ file, line: locate(key ? ['entries', i, key] : ['entries', i]), path: key ? `entries[${i}].${key}` : `entries[${i}]`, message });
    const kinds = (['kernel', 'iscript', 'root', 'shell'] as const).filter((k) => e[k] !== undefined);
    if (kinds.length === 0) {
      at(
        undefined,
        'boots nothing: write kernel: URL (a Linux kernel; add hypervisor: URL to start it under Xen), iscript: URL (a script the preboot runs), root: {url: URL/root.json, sha256: HEX} (a root published with inetboot publish), or shell: true (a shell in the preboot)',
      );
    }
    for (const k of kinds.slice(1)) {
      at(k, `cannot be combined with ${kinds[0]}: an entry boots one of kernel, iscript, root or shell; make two entries`);
    }
    if (e.root !== undefined && e.root.sha256 === undefined && e.root_unverified !== true) {
      at('root', 'has no sha256: pin the manifest with sha256: HEX (inetboot publish prints it), or write root_unverified: true beside root: to boot it unchecked (the preboot then warns at every boot)');
    }
    if (e.root !== undefined && e.tls_verify === false) {
      at('tls_verify', "cannot be false for a root: the miniroot's block daemon always checks certificates; remove it, or serve the root over http:// (every block is checked by its sha256 either way)");
    }
    if (e.root_unverified !== undefined && e.root === undefined) at('root_unverified', 'needs root: in the same entry');
    if (e.root_unverified !== undefined && e.root?.sha256 !== undefined) at('root_unverified', 'contradicts root.sha256: the manifest is pinned; remove root_unverified');
    if (e.hypervisor_append !== undefined && e.hypervisor === undefined) at('hypervisor_append', 'needs hypervisor: in the same entry (it is Xen\'s command line)');
    if (e.kernel !== undefined) return;
    if (e.initrd !== undefined) at('initrd', e.root ? 'cannot be combined with root: the published root brings its own kernel and miniroot' : 'needs kernel: in the same entry (an iscript downloads its own files with ib_fetch)');
    if (e.hypervisor !== undefined) at('hypervisor', 'needs kernel: (the dom0 kernel) in the same entry (an iscript starts Xen with ib_boot_xen)');
    if (e.shell && e.append !== '') at('append', 'is only for an entry with kernel: or iscript:; a shell entry boots nothing');
  });
  return problems;
}
