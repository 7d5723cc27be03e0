/**
 * examples/ci/github-actions.yml, run here: every step's `run:` in order, with bash from the root
 * of a copy of this repository (its files as they are now, without node_modules, test-output
 * or anything git ignores), as the CI service would run them after its checkout. The `uses:`
 * steps are the service's own (checkout, artifact upload): the copy stands for the checkout, and
 * what the upload step names must exist, with the logs, screenshots and reports in it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { parse } from 'yaml';
import { outputDir, REPO_ROOT } from '../helpers/paths.js';
import { readPng } from '../helpers/png.js';
import { scaled } from '../helpers/timeouts.js';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: { path?: string };
}

const dir = outputDir('ci-example');

it(
  'examples/ci/github-actions.yml: install, doctor, build-iso, smoke on BIOS and UEFI; the artifacts hold logs, PNGs and passing JUnit reports',
  async () => {
    const workflow = parse(readFileSync(join(REPO_ROOT, 'examples', 'ci', 'github-actions.yml'), 'utf8')) as { jobs: Record<string, { steps: Step[] }> };
    const steps = Object.values(workflow.jobs)[0]!.steps;
    expect(steps.filter((s) => s.run).length).toBeGreaterThanOrEqual(4);
    expect(steps.at(-1)?.uses).toMatch(/^actions\/upload-artifact@/);

    // The checkout: the files git knows (committed or not), not what git ignores.
    const repo = join(dir, 'repo');
    rmSync(repo, { recursive: true, force: true });
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT }).toString().split('\0').filter(Boolean);
    for (const f of files) {
      if (!existsSync(join(REPO_ROOT, f))) continue; // deleted, not yet committed
      mkdirSync(dirname(join(repo, f)), { recursive: true });
      cpSync(join(REPO_ROOT, f), join(repo, f));
    }

    for (const step of steps) {
      if (step.uses?.startsWith('actions/upload-artifact')) {
        const path = join(repo, step.with!.path!);
        for (const fw of ['bios', 'uefi']) {
          expect(readFileSync(join(path, `${fw}.console.log`), 'utf8')).toContain('inetboot: preboot started');
          // Not blank: the screen holds the preboot's first lines (a few hundred text pixels of 720x400).
          expect(readPng(join(path, `${fw}.png`)).foreground).toBeGreaterThan(0.001);
          expect(readFileSync(join(path, `${fw}.junit.xml`), 'utf8')).toContain('failures="0"');
          expect(JSON.parse(readFileSync(join(path, `${fw}.json`), 'utf8'))).toMatchObject({ ok: true, firmware: fw });
        }
        expect(JSON.parse(readFileSync(join(path, 'build.json'), 'utf8'))).toMatchObject({ kind: 'iso', entries: [{ id: 'installer' }] });
        continue;
      }
      if (!step.run) continue;
      const r = await execa('bash', ['-e', '-o', 'pipefail', '-c', step.run], { cwd: repo, reject: false, all: true, env: { CI: 'true' } });
      expect(r.exitCode, `step "${step.name}":\n${String(r.all).slice(-3000)}`).toBe(0);
    }
  },
  scaled(1_800_000),
);
