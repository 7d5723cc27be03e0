/**
 * What `npm pack` ships (package.json "files"): every folder of this repository that the code
 * reads at run time through PACKAGE_ROOT (src/paths.ts), so that an installed inetboot can build
 * its preboot, its sha256 checker and its block daemon as a clone does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';

/** Every `join(PACKAGE_ROOT, 'A', 'B', ...)` in src/, as "A/B/...". */
function packageRootPaths(): string[] {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/join\(PACKAGE_ROOT((?:, '[^']+')+)\)/g)) found.add([...m[1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]).join('/'));
    }
  };
  walk(join(PACKAGE_ROOT, 'src'));
  return [...found].sort();
}

it('npm pack ships every file and folder the code reads from the package, and no build output', async () => {
  const r = await execa('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], { cwd: PACKAGE_ROOT });
  const files: string[] = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  const paths = packageRootPaths();
  expect(paths).toEqual(expect.arrayContaining(['daemon', 'miniroot/init', 'preboot-tools/inetboot-sha256.c', 'grub-templates', 'examples/inetboot.yaml']));
  for (const p of paths) expect(files.some((f) => f === p || f.startsWith(`${p}/`)), p).toBe(true);
  // The daemon's Makefile builds from every C file and header in daemon/.
  for (const f of readdirSync(join(PACKAGE_ROOT, 'daemon')).filter((n) => /\.[ch]$|^Makefile$/.test(n))) expect(files, f).toContain(`daemon/${f}`);
  expect(files.filter((f) => f.startsWith('daemon/build/') || f.startsWith('test') || f.startsWith('bench/'))).toEqual([]);
});
