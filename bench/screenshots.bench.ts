/**
 * The README's pictures, taken from real boots so that they stay true (issue 12, item 5):
 * `bash scripts/bench.sh screenshots` writes docs/images/
 *   grub-menu.png          the GRUB menu of a config with three entries (BIOS)
 *   preboot-progress.png   the preboot's screen as it starts Debian's installer (`inetboot demo`)
 *   rescue-menu.png        the rescue menu after an entry's server did not answer
 * Each is QEMU's screendump of the VGA screen (src/qemu/screenshot.ts) when a text appeared on
 * the serial console. Not a test: it asserts nothing but that each boot got to its text. The
 * console logs stay under test-output/screenshots/.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { defaultCacheDir, PACKAGE_ROOT } from '../src/paths.js';
import { buildIso } from '../src/pipeline/build.js';
import { bootAndWatch } from '../src/qemu/boot.js';
import { silentLogger } from '../src/log.js';
import { bin } from '../test/helpers/cli.js';
import { outputDir } from '../test/helpers/paths.js';
import { freePort } from '../test/helpers/ports.js';

const OUT = outputDir('screenshots');
const IMAGES = join(PACKAGE_ROOT, 'docs', 'images');
const HASH = 'ab'.repeat(32);

async function isoOf(name: string, yaml: string): Promise<string> {
  const iso = join(OUT, `${name}.iso`);
  await buildIso({ config: parseConfig(yaml, `${name}.yaml`).config, output: iso, cacheDir: defaultCacheDir(), logger: silentLogger() });
  return iso;
}

async function shoot(name: string, iso: string, when: string): Promise<void> {
  const r = await bootAndWatch({ iso, expect: when, failOn: ['Kernel panic'], timeoutMs: 300_000, logFile: join(OUT, `${name}.console.log`), screenshot: join(IMAGES, `${name}.png`) });
  expect(r.ok, `${name}: ${r.reason}; ${r.lastLines.slice(-5).join(' | ')}`).toBe(true);
  expect(r.screenshotError).toBeUndefined();
  console.log(`${name}: ${r.screenshot}`);
}

it("the README's pictures", async () => {
  mkdirSync(IMAGES, { recursive: true });
  // Nothing listens on this port: the entries' downloads fail at once.
  const closed = await freePort();

  // GRUB draws the menu on the serial port before the screen: the picture is taken a second
  // later, when the countdown says 4 s.
  const menu = await isoOf(
    'grub-menu',
    `timeout: 5
serial: true
entries:
  - id: debian
    title: Debian 12 installer
    kernel: {url: "http://10.0.2.2:8080/linux", sha256: "${HASH}"}
    initrd: {url: "http://10.0.2.2:8080/initrd.gz", sha256: "${HASH}"}
    append: console=ttyS0 priority=low
  - id: rescue
    title: Rescue system (Xen)
    hypervisor: http://10.0.2.2:8080/xen.gz
    kernel: http://10.0.2.2:8080/vmlinuz
    initrd: http://10.0.2.2:8080/initrd.img
  - id: shell
    title: Preboot shell (network up)
    shell: true
`,
  );
  await shoot('grub-menu', menu, 'executed automatically in 4s');

  const rescue = await isoOf(
    'rescue-menu',
    `timeout: 0
serial: true
entries:
  - id: lab
    title: Lab image
    kernel: {url: "http://10.0.2.2:${closed}/vmlinuz", sha256: "${HASH}"}
  - id: shell
    title: Preboot shell (network up)
    shell: true
`,
  );
  await shoot('rescue-menu', rescue, "open a shell (type 'exit'");

  const demo = join(OUT, 'demo');
  const r = await bin(['demo', '-o', demo, '--port', '0']);
  expect(r.code, r.stderr).toBe(0);
  copyFileSync(join(demo, 'screen.png'), join(IMAGES, 'preboot-progress.png'));
  console.log(`preboot-progress: ${join(IMAGES, 'preboot-progress.png')}`);
});
