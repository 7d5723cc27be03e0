/** `inetboot list`: the menu entries as a table, or the normalised config as JSON. */
import { loadConfig } from '../config/load.js';
import { describeSources, type Config, type Entry } from '../config/schema.js';

export async function listCommand(opts: { config: string; json?: boolean }, out: (s: string) => void): Promise<void> {
  const { config } = await loadConfig(opts.config);
  out(opts.json ? JSON.stringify(config, null, 2) + '\n' : formatTable(config, opts.config));
}

export function formatTable(config: Config, file: string): string {
  if (config.entries.length === 0) return `no entries in ${file}: add one with inetboot add-entry\n`;
  // Without `default:` the menu boots the first entry.
  const defaultId = config.default ?? config.entries[0]?.id;
  const rows: string[][] = [
    ['', 'ID', 'TITLE', 'KERNEL'],
    ...config.entries.map((e) => [e.id === defaultId ? '*' : '', e.id, e.title, bootsWhat(e)]),
  ];
  const widths = [0, 1, 2].map((col) => Math.max(...rows.map((r) => r[col]?.length ?? 0)));
  // The last column is not padded: no trailing spaces.
  const lines = rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col] ?? 0)).join('  '));
  const note = config.timeout < 0 ? '* default (the menu waits for a choice)' : `* default, boots after ${config.timeout} s`;
  return [...lines, '', note].join('\n') + '\n';
}

/** The KERNEL column: what the entry boots (entry kinds: README, "Entry kinds"). */
function bootsWhat(e: Entry): string {
  const a = e.kernel ?? e.iscript ?? e.root;
  if (!a) return 'shell in the preboot';
  const what = describeSources(a) + (a.sha256 ? ' (sha256)' : '');
  if (e.root) return `root ${what}${a.sha256 ? '' : ' (UNVERIFIED)'}`;
  return e.iscript ? `iscript ${what}` : e.hypervisor ? `${what} under Xen` : what;
}
