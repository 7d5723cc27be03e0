/**
 * Every grub.cfg inetboot renders passes GRUB's own parser (grub-script-check from
 * grub-common). The files stay in test-output/menu/ for a look after a failure.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import type { Config, Entry } from '../../src/config/schema.js';
import { renderMenu } from '../../src/pipeline/menu.js';
import { outputDir } from '../helpers/paths.js';
import { MENU_EXAMPLE as EXAMPLE } from '../fixtures/menu-example.js';

const dir = outputDir('menu');


async function grubScriptCheck(name: string, text: string): Promise<{ exitCode: number | undefined; output: string }> {
  const file = join(dir, name);
  writeFileSync(file, text);
  const result = await execa('grub-script-check', [file], { reject: false, all: true });
  if (result.code === 'ENOENT') throw new Error('grub-script-check not found: install grub-common (apt-get install grub-common)');
  return { exitCode: result.exitCode, output: `${file}:\n${result.all ?? ''}` };
}

function entry(id: string, title: string): Entry {
  return { id, title, kernel: { url: 'http://10.0.2.2:8080/linux' }, append: '' };
}

const NASTY_TITLES = [
  `it's "quoted" $x; reboot`,
  '{braces}',
  '# not a comment',
  'Ünïcödé 日本語 😀',
  `back\\slash \\' \\"`,
  "'''",
  '`id` $(reboot) ${x} && || ; | < >',
  'menuentry x { reboot }',
  '}',
  '* ? [a-z]',
  'ends with backslash \\',
  'a -- b --id x',
];

const CONFIGS: [string, Config][] = [
  ['example', EXAMPLE],
  ['example-no-serial', { ...EXAMPLE, serial: false, timeout: -1 }],
  ['nasty-titles', { timeout: 0, serial: true, entries: NASTY_TITLES.map((t, i) => entry(`e${i}`, t)) }],
  ['one-entry', { timeout: 86400, serial: false, entries: [entry('a', 'A')] }],
];

describe('grub-script-check accepts every rendered grub.cfg', () => {
  test.each(CONFIGS)('%s', async (name, config) => {
    const cfg = renderMenu(config);
    const { exitCode, output } = await grubScriptCheck(`${name}.cfg`, cfg);
    expect(exitCode, output).toBe(0);
  });
});

describe('grub-script-check fails on a broken file (the check can fail)', () => {
  test('an unterminated quote', async () => {
    const { exitCode } = await grubScriptCheck('broken-quote.cfg', "menuentry 'a {\n\techo x\n}\n");
    expect(exitCode).not.toBe(0);
  });

  test('a title quoted naively instead of with grubMenuTitle', async () => {
    const good = renderMenu({ timeout: 5, serial: false, entries: [entry('a', "it's")] });
    const naive = good.replace(`'it'\\''s'`, `'it's'`);
    expect(naive).not.toBe(good);
    const { exitCode } = await grubScriptCheck('broken-naive.cfg', naive);
    expect(exitCode).not.toBe(0);
  });
});
