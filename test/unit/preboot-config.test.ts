/** The preboot: key, the precedence of its settings, and the kernel fragment check. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { cli } from '../helpers/cli.js';
import { prebootSettings } from '../../src/commands/build-preboot.js';
import { parseConfig } from '../../src/config/load.js';
import { checkPrebootSettings } from '../../src/pipeline/preboot/backend.js';
import { buildrootProgress } from '../../src/pipeline/preboot/buildroot.js';
import { missingSymbols, requiredSymbols } from '../../src/pipeline/preboot/kernel-source.js';
import { problems } from '../helpers/config.js';
import { testTempDir } from '../helpers/temp.js';

const ENTRY = 'entries:\n  - id: d\n    title: D\n    kernel: http://10.0.2.2:8080/linux\n';


describe('preboot: in the config', () => {
  test('absent: no preboot settings, the debian backend by default', () => {
    const { config } = parseConfig(ENTRY, '/cfg/ib.yaml');
    expect(config.preboot).toBeUndefined();
    expect(prebootSettings(config, '/cfg/ib.yaml', {})).toEqual({ backend: 'debian', kernelSource: undefined, buildrootDir: undefined, jobs: undefined });
  });

  test('backend defaults to debian; paths are relative to the config file', () => {
    const { config } = parseConfig(`preboot:\n  kernel_source: src/linux.tar.xz\n  buildroot_dir: /opt/buildroot\n${ENTRY}`, '/cfg/ib.yaml');
    expect(config.preboot).toEqual({ backend: 'debian', kernel_source: 'src/linux.tar.xz', buildroot_dir: '/opt/buildroot' });
    expect(prebootSettings(config, '/cfg/ib.yaml', {})).toMatchObject({ backend: 'debian', kernelSource: '/cfg/src/linux.tar.xz', buildrootDir: '/opt/buildroot' });
  });

  test('command-line flags override the file', () => {
    const { config } = parseConfig(`preboot:\n  backend: buildroot\n  buildroot_dir: /opt/buildroot\n${ENTRY}`, '/cfg/ib.yaml');
    const s = prebootSettings(config, '/cfg/ib.yaml', { backend: 'kernel-source', kernelSource: '/usr/src/linux-source-6.1.tar.xz', jobs: 3 });
    expect(s).toEqual({ backend: 'kernel-source', kernelSource: '/usr/src/linux-source-6.1.tar.xz', buildrootDir: '/opt/buildroot', jobs: 3 });
  });

  test('an unknown backend names the choices', () => {
    expect(problems(`preboot:\n  backend: gentoo\n${ENTRY}`)).toEqual([
      'ib.yaml:2: preboot.backend: must be one of debian, kernel-source, buildroot (see "Preboot backends" in the README)',
    ]);
  });

  test('an empty path says what to write', () => {
    expect(problems(`preboot:\n  kernel_source: ""\n${ENTRY}`)).toEqual([
      'ib.yaml:2: preboot.kernel_source: must not be empty: write a path, e.g. /usr/src/linux-source-6.1.tar.xz',
    ]);
  });

  test('a path that is not a string', () => {
    expect(problems(`preboot:\n  buildroot_dir: 2024\n${ENTRY}`)).toEqual([
      'ib.yaml:2: preboot.buildroot_dir: is a number: must be a path on the build machine, e.g. /home/me/buildroot-2024.02',
    ]);
  });

  test('a backend without its source tree is refused before any work', () => {
    expect(() => checkPrebootSettings({ backend: 'kernel-source' })).toThrow('the kernel-source backend needs a Linux source tree');
    expect(() => checkPrebootSettings({ backend: 'buildroot' })).toThrow('the buildroot backend needs a Buildroot source tree');
    expect(() => checkPrebootSettings({ backend: 'debian' })).not.toThrow();
  });

  test('a backend whose preboot cannot check https:// is refused for a config that needs it, before any work', async () => {
    const https = parseConfig(ENTRY.replace('http://10.0.2.2:8080', 'HTTPS://10.0.2.2:8443'), 'p.yaml').config;
    expect(() => checkPrebootSettings({ backend: 'buildroot', buildrootDir: '/nonexistent' }, https)).toThrow(
      "the buildroot backend's preboot has no openssl, so it cannot check the certificates of https:// servers (the config downloads https://10.0.2.2:8443/linux)",
    );
    expect(() => checkPrebootSettings({ backend: 'kernel-source', kernelSource: '/nonexistent' }, https)).not.toThrow();
    expect(() => checkPrebootSettings({ backend: 'buildroot', buildrootDir: '/nonexistent' }, parseConfig(ENTRY, 'p.yaml').config)).not.toThrow();
    // Through the CLI: exit 2 with the hint, before any Buildroot work (the tree does not exist).
    const file = join(testTempDir('inetboot-br-'), 'c.yaml');
    writeFileSync(file, ENTRY.replace('http://10.0.2.2:8080', 'https://10.0.2.2:8443'));
    const r = await cli('build-iso', '-c', file, '--preboot-backend', 'buildroot', '--buildroot-dir', '/nonexistent', '-o', join(file, '..', 'x.iso'));
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: "inetboot: error: the buildroot backend's preboot has no openssl, so it cannot check the certificates of https:// servers (the config downloads https://10.0.2.2:8443/linux)\nhint: use the debian or kernel-source backend, or serve the files over http:// with their sha256 pinned\n",
    });
  });
});

describe('kernel fragment check', () => {
  const fragment = '# comment\nCONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_D="x"\n';
  test('the =y lines are required', () => {
    expect(requiredSymbols(fragment)).toEqual(['CONFIG_A', 'CONFIG_B']);
  });
  test('a symbol that olddefconfig dropped is reported', () => {
    expect(missingSymbols(fragment, 'CONFIG_A=y\n# CONFIG_B is not set\n')).toEqual(['CONFIG_B']);
    expect(missingSymbols(fragment, 'CONFIG_A=y\nCONFIG_B=y\n')).toEqual([]);
  });
});

test('Buildroot progress lines name the package and the step', () => {
  expect(buildrootProgress('>>> busybox 1.36.1 Building')).toBe('busybox 1.36.1: Building');
  expect(buildrootProgress('>>> host-xz 5.4.5 Extracting')).toBe('host-xz 5.4.5: Extracting');
  expect(buildrootProgress('gcc -c foo.c')).toBeUndefined();
});

describe('build-preboot refuses a missing source tree before any work', () => {
  const dir = testTempDir('inetboot-preboot-cli-');
  const cfg = join(dir, 'inetboot.yaml');
  writeFileSync(cfg, ENTRY);

  test('buildroot: a directory that is not a Buildroot tree', async () => {
    const r = await cli('build-preboot', '-c', cfg, '--backend', 'buildroot', '--buildroot-dir', dir, '-o', join(dir, 'out'), '--cache-dir', join(dir, 'cache'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`inetboot: error: ${dir} is not a Buildroot source tree (it has no Config.in and package/Makefile.in)`);
  });

  test('kernel-source: a tarball that does not exist', async () => {
    const r = await cli('build-preboot', '-c', cfg, '--backend', 'kernel-source', '--kernel-source', join(dir, 'nope.tar.xz'), '-o', join(dir, 'out'), '--cache-dir', join(dir, 'cache'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`inetboot: error: kernel source ${join(dir, 'nope.tar.xz')} does not exist`);
    expect(r.stderr).toContain('hint: install Debian\'s kernel source (apt-get install linux-source-6.1)');
  });

  test('kernel-source without a source tree, and an unknown backend', async () => {
    const none = await cli('build-preboot', '-c', cfg, '--backend', 'kernel-source', '-o', join(dir, 'out'));
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('inetboot: error: the kernel-source backend needs a Linux source tree');
    const bad = await cli('build-preboot', '-c', cfg, '--backend', 'gentoo');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("error: option '--backend <backend>' argument 'gentoo' is invalid. Allowed choices are debian, kernel-source, buildroot.");
  });

  test('--backend is the same option as --preboot-backend, on both commands; giving both is refused', async () => {
    for (const cmd of ['build-iso', 'build-preboot']) {
      const r = await cli(cmd, '-c', cfg, '--backend', 'kernel-source', '--preboot-backend', 'kernel-source');
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toContain("error: option '--backend <backend>' cannot be used with option '--preboot-backend <backend>'");
      const alone = await cli(cmd, '-c', cfg, '--preboot-backend', 'kernel-source');
      expect(alone.code, cmd).toBe(2);
      expect(alone.stderr).toContain('inetboot: error: the kernel-source backend needs a Linux source tree');
    }
  });

  test('--jobs must be a positive whole number', async () => {
    const r = await cli('build-preboot', '-c', cfg, '--jobs', '0');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: option '--jobs <n>' argument '0' is invalid. must be a whole number from 1 to 9999");
  });
});
