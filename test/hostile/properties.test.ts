/**
 * Property tests (fast-check) over generated hostile titles, URLs and kernel command lines:
 *   1. whatever the config accepts renders to a grub.cfg that grub-script-check accepts, with
 *      each title single-quoted and nothing else changed, and reaches the preboot's data files
 *      byte for byte (in memory for many configs, and once through a real ISO);
 *   2. whatever the preboot's command-line parser (cmdline_get, BusyBox sh + awk) reads, it
 *      never executes, and it reads it as the kernel does (the port of next_arg in src/quote.ts);
 *   3. pass_network's ip= lands among the kernel's parameters, before a "--", and changes
 *      nothing else (cmdline_add, the same shell).
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { readNewc } from '../../src/pipeline/cpio.js';
import { renderMenu } from '../../src/pipeline/menu.js';
import { entryDataFiles } from '../../src/pipeline/preboot/entries.js';
import { grubMenuTitle, kernelParamsOf } from '../../src/quote.js';
import { cli } from '../helpers/cli.js';
import { isoExtract } from '../helpers/iso.js';
import { outputDir } from '../helpers/paths.js';
import { prebootSh } from '../helpers/preboot-shell.js';
import { cmdlineArbitrary, hostileText, titleArbitrary, urlArbitrary } from './arbitraries.js';
import { appendSchema } from '../../src/config/schema.js';
import { scaled } from '../helpers/timeouts.js';

const OUT = outputDir('hostile-properties');

interface Gen {
  title: string;
  kernel: string;
  append: string;
}

const entryArb = fc.record({ title: titleArbitrary(), kernel: urlArbitrary(), append: fc.oneof({ weight: 4, arbitrary: cmdlineArbitrary() }, { weight: 1, arbitrary: hostileText(6) }) });

/** One entry's YAML, values as JSON strings (JSON is YAML; its escapes are YAML's). */
const entryYaml = (id: string, g: Gen) => `  - id: ${id}\n    title: ${JSON.stringify(g.title)}\n    kernel: ${JSON.stringify(g.kernel)}\n    append: ${JSON.stringify(g.append)}\n`;

/** The generated entries the config accepts, each tried alone, as a config of all of them. */
function acceptedConfig(gens: Gen[]): { text: string; kept: Gen[] } {
  const kept = gens.filter((g) => {
    try {
      parseConfig(`entries:\n${entryYaml('x', g)}`, 'p.yaml');
      return true;
    } catch (err) {
      if (err instanceof ConfigError) return false;
      throw err;
    }
  });
  return { text: `entries:\n${kept.map((g, i) => entryYaml(`e${i}`, g)).join('')}`, kept };
}

async function grubScriptCheck(text: string, name: string): Promise<void> {
  const file = join(OUT, `${name}.cfg`);
  writeFileSync(file, text);
  const r = await execa('grub-script-check', [file], { reject: false });
  expect(r.exitCode, `${file}: ${r.stdout}${r.stderr}`).toBe(0);
}

function checkMenuAndData(menu: string, files: Map<string, string | Buffer>, kept: Gen[], kernelUrl: (g: Gen) => string): void {
  const lines = menu.split('\n');
  kept.forEach((g, i) => {
    expect(lines).toContain(`menuentry ${grubMenuTitle(g.title)} --id e${i} {`);
    const field = (f: string) => {
      const v = files.get(`etc/inetboot/entries/e${i}/${f}`);
      return v === undefined ? undefined : Buffer.from(v);
    };
    expect(field('title')?.equals(Buffer.from(g.title, 'utf8'))).toBe(true);
    expect(field('append')?.equals(Buffer.from(g.append, 'utf8'))).toBe(true);
    expect(field('kernel_url')?.toString('utf8')).toBe(kernelUrl(g));
  });
}

describe('what the config accepts reaches GRUB and the preboot unchanged', () => {
  it('in memory: grub.cfg passes grub-script-check, data files byte for byte (property)', async () => {
    let accepted = 0;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 1, maxLength: 25 }), async (gens) => {
        const { text, kept } = acceptedConfig(gens);
        if (kept.length === 0) return;
        accepted += kept.length;
        const { config } = parseConfig(text, 'p.yaml');
        const menu = renderMenu(config);
        await grubScriptCheck(menu, `memory-${run++ % 4}`);
        checkMenuAndData(menu, entryDataFiles(config), kept, (g) => config.entries[kept.indexOf(g)]!.kernel!.url!);
      }),
      { numRuns: 100 },
    );
    // The generator must give the renderer many accepted entries, or the property proves little.
    expect(accepted).toBeGreaterThan(100);
  }, scaled(120_000));

  it('through a built ISO: one batch of generated entries read back from grub.cfg and the initramfs', async () => {
    const gens = fc.sample(entryArb, { numRuns: 400, seed: 20261202 });
    const { text, kept } = acceptedConfig(gens);
    expect(kept.length).toBeGreaterThan(20);
    const file = join(OUT, 'batch.yaml');
    writeFileSync(file, text);
    const iso = join(OUT, 'batch.iso');
    const r = await cli('build-iso', '-c', file, '-o', iso);
    expect(r.code, r.stderr).toBe(0);
    const menu = (await isoExtract(iso, '/boot/grub/grub.cfg')).toString('utf8');
    await grubScriptCheck(menu, 'batch');
    const cpio = readNewc(gunzipSync(await isoExtract(iso, '/boot/inetboot/preboot.img')));
    const files = new Map(cpio.filter((e) => e.type === 'file').map((e) => [e.path, e.data] as const));
    const { config } = parseConfig(text, file);
    checkMenuAndData(menu, files, kept, (g) => config.entries[kept.indexOf(g)]!.kernel!.url!);
  }, scaled(300_000));
});

/** Runs a shell snippet with common.sh sourced; arguments after the snippet are "$@". */
async function sh(snippet: string, ...args: string[]): Promise<string> {
  return (await prebootSh(snippet, { libs: ['common'], args })).stdout;
}

describe("the preboot's command-line parser reads, never runs", () => {
  const canary = join(OUT, 'canary');
  const words = cmdlineArbitrary().map((line) => line.replaceAll('/tmp/x', canary));

  it('cmdline_get reads each key as the kernel does and runs nothing (property, BusyBox sh)', async () => {
    rmSync(canary, { force: true });
    const file = join(OUT, 'cmdline');
    await fc.assert(
      fc.asyncProperty(words, fc.constantFrom('', ' $(touch /tmp/x)', ' "`touch /tmp/x`"', ' k=$(touch${IFS}/tmp/x)'), async (line, extra) => {
        const text = `${line}${extra.replaceAll('/tmp/x', canary)}`;
        writeFileSync(file, `${text}\n`);
        const params = kernelParamsOf(text);
        const keys = [...new Set(params.map(([k]) => k))].filter((k) => k !== '');
        if (keys.length === 0) return;
        const out = await sh(`IB_CMDLINE_FILE=$1; shift; for k in "$@"; do v=$(cmdline_get "$k"); printf '%s\\0%s\\0' "$?" "$v"; done`, file, ...keys);
        const got = out.split('\0');
        keys.forEach((k, i) => {
          const last = params.filter(([key]) => key === k).at(-1)!;
          expect([got[2 * i], got[2 * i + 1]], `${k} in ${text}`).toEqual(['0', last[1] ?? '']);
        });
        expect(existsSync(canary)).toBe(false);
      }),
      { numRuns: 150 },
    );
  }, scaled(120_000));

  it("cmdline_add puts ip= among the kernel's parameters, before a --, and changes nothing else (property)", async () => {
    const ip = 'ip=10.0.2.15::10.0.2.2:255.255.255.0:::off:10.0.2.3';
    // Only command lines the config accepts as append (balanced quotes among them).
    await fc.assert(
      fc.asyncProperty(words.filter((l) => appendSchema.safeParse(l).success), async (line) => {
        const got = await sh('cmdline_add "$1" ip "$2"', line, ip);
        const before = kernelParamsOf(line);
        if (before.some(([k]) => k === 'ip')) {
          expect(got).toBe(line);
          return;
        }
        expect(kernelParamsOf(got)).toEqual([...before, ['ip', ip.slice(3)]]);
        // Nothing else changed: the line is the given one with ip= added at its end, or just
        // before a word where it splits (the "--").
        const appended = `${line}${line === '' ? '' : ' '}${ip}`;
        const at = got.indexOf(`${ip} `);
        expect(got === appended || (at >= 0 && got.slice(0, at) + got.slice(at + ip.length + 1) === line), got).toBe(true);
      }),
      { numRuns: 150 },
    );
  }, scaled(120_000));
});
