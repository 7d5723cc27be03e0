/**
 * `inetboot doctor`: the report of src/doctor/report.ts as a table grouped by command, or as
 * one JSON object. Something missing is a MissingToolError after the report (exit 1), which
 * names each missing tool with its package and ends with the apt-get line, as every other
 * command's missing-tool error does.
 */
import { resolve } from 'node:path';
import { MissingToolError } from '../errors.js';
import { doctor, type DoctorReport, type ToolStatus } from '../doctor/report.js';
import { defaultCacheDir } from '../paths.js';
import type { CommandContext } from './context.js';

export interface DoctorCommandOptions {
  json?: boolean;
  cacheDir?: string;
}

export async function doctorCommand(opts: DoctorCommandOptions, ctx: CommandContext, out: (s: string) => void): Promise<DoctorReport> {
  const report = await doctor({ cacheDir: resolve(opts.cacheDir ?? defaultCacheDir()), signal: ctx.signal });
  out(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  if (!report.ok) {
    const missing = report.tools.filter((t) => t.status !== 'found');
    throw new MissingToolError(missing.map((t) => ({ name: displayName(t), pkg: t.package, reason: `${t.does}; needed by ${neededBy(report, t.name)}` })));
  }
  return report;
}

const WRAP = 100;

export function formatReport(r: DoctorReport): string {
  const tools = new Map(r.tools.map((t) => [t.name, t]));
  const rows: { indent: string; cells: [string, string, string, string] }[] = [];
  const lines: (string | number)[] = [];
  const shown = new Set<string>();
  for (const c of r.commands) {
    const heading = c.when ? `${c.command} (${c.when})` : c.command;
    const state = c.needs.length === 0 ? 'ready (nothing outside Node.js)' : c.ready ? 'ready' : `${c.missing.length} missing`;
    lines.push(`${heading}: ${state}`);
    // Each tool is a row once, under the first command that needs it; later commands name it.
    const again = c.needs.filter((n) => shown.has(n));
    for (const n of c.needs.filter((n) => !shown.has(n))) {
      shown.add(n);
      const t = tools.get(n)!;
      const where = t.status === 'found' ? (t.path ?? '') : t.status === 'unchecked' ? 'not checked: pkg-config is missing' : t.does;
      lines.push(rows.length);
      rows.push({ indent: '  ', cells: [t.status === 'found' ? 'found' : t.status === 'missing' ? 'MISSING' : '?', displayName(t), t.package, where] });
    }
    if (again.length > 0) {
      const missingAgain = again.filter((n) => tools.get(n)!.status !== 'found');
      const note = missingAgain.length > 0 ? `; of them missing: ${missingAgain.join(', ')}` : '';
      lines.push(...wrap(`and, as above: ${again.map((n) => displayName(tools.get(n)!)).join(', ')}${note}`, '  ', '    '));
    }
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row.cells[i]!.length)));
  const table = lines.map((l) => {
    if (typeof l === 'string') return l;
    const row = rows[l]!;
    return (row.indent + row.cells.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  ')).trimEnd();
  });

  const kvm = r.kvm.usable ? `yes: ${r.kvm.detail} (inetboot's own boots use TCG all the same)` : `no KVM: boots run under TCG, slower (${r.kvm.detail})`;
  const cache = r.cache.exists ? `${r.cache.dir}: ${size(r.cache.bytes)} in ${r.cache.files} files${cacheEntries(r.cache.entries)}` : `${r.cache.dir}: does not exist yet (nothing cached)`;
  return [
    'What each command needs on this machine (found: where; MISSING: what inetboot uses it for):',
    '',
    ...table,
    '',
    `KVM    ${kvm}`,
    `cache  ${cache}`,
    ...(r.ok ? ['', 'every command has what it needs'] : []),
    '',
  ].join('\n');
}

function displayName(t: ToolStatus): string {
  return t.kind === 'library' ? `${t.name} (pkg-config)` : t.name;
}

/** The commands that need a tool, without the variants of a command that is named itself. */
function neededBy(r: DoctorReport, name: string): string {
  const names = [...new Set(r.commands.filter((c) => c.needs.includes(name)).map((c) => c.command))];
  return names.filter((n) => !names.some((other) => n.startsWith(`${other} `))).join('; ');
}

function cacheEntries(entries: { name: string; bytes: number }[]): string {
  if (entries.length === 0) return '';
  const top = entries.slice(0, 5).map((e) => `${e.name} ${size(e.bytes)}`);
  return ` (${top.join(', ')}${entries.length > 5 ? `, and ${entries.length - 5} more` : ''})`;
}

export function size(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  const [unit, div] = bytes < 1e6 ? ['kB', 1e3] : bytes < 1e9 ? ['MB', 1e6] : ['GB', 1e9];
  return `${(bytes / div).toFixed(1)} ${unit}`;
}

function wrap(text: string, first: string, rest: string): string[] {
  const out: string[] = [];
  let line = first;
  for (const word of text.split(' ')) {
    if (line.trim() !== '' && line.length + 1 + word.length > WRAP) {
      out.push(line);
      line = rest + word;
    } else {
      line = line.trim() === '' ? line + word : `${line} ${word}`;
    }
  }
  out.push(line);
  return out;
}
