/**
 * `inetboot doctor` through the installed program (`node bin/inetboot.js`): on this machine
 * (scripts/setup.sh installed everything) every command is ready; with PATH an empty directory
 * the programs are missing, and the exit code and the apt-get line say so.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { DoctorReport } from '../../src/doctor/report.js';
import { bin } from '../helpers/cli.js';
import { testTempDir } from '../helpers/temp.js';

describe('inetboot doctor', () => {
  test('this machine: exit 0, grub-mkrescue and the rest found, the cache measured', async () => {
    const cache = testTempDir('inetboot-doctor-cache-');
    mkdirSync(join(cache, 'debs'));
    writeFileSync(join(cache, 'debs', 'x.deb'), Buffer.alloc(2500));
    const r = await bin(['doctor', '--cache-dir', cache]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^  found\s+grub-mkrescue\s+grub-common\s+\/usr\/bin\/grub-mkrescue$/m);
    expect(r.stdout).toContain('build-iso (debian backend, the default): ready');
    expect(r.stdout).toMatch(/^KVM    (yes: \/dev\/kvm|no KVM: boots run under TCG, slower)/m);
    expect(r.stdout).toContain(`cache  ${cache}: 2.5 kB in 1 files (debs 2.5 kB)`);
    expect(r.stdout).toContain('every command has what it needs');
    expect(r.stderr).toBe('');

    const j = await bin(['doctor', '--json', '--cache-dir', cache]);
    expect(j.code).toBe(0);
    const report = JSON.parse(j.stdout) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(report.apt_get).toBeNull();
    expect(report.tools.find((t) => t.name === 'grub-mkrescue')).toMatchObject({ status: 'found', package: 'grub-common' });
    expect(report.tools.find((t) => t.name === 'fuse3')).toMatchObject({ kind: 'library', status: 'found', package: 'libfuse3-dev' });
    expect(report.cache).toMatchObject({ dir: cache, exists: true, bytes: 2500, files: 1 });
    expect(typeof report.kvm.usable).toBe('boolean');
  });

  test('PATH an empty directory: exit 1, the missing programs named with the apt-get line; --json stays one object on stdout', async () => {
    const empty = testTempDir('inetboot-empty-path-');
    const env = { PATH: empty, HOME: empty, XDG_CACHE_HOME: '' };
    const r = await bin(['doctor'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^  MISSING\s+grub-mkrescue\s+grub-common\s+lays out the bootable ISO$/m);
    expect(r.stdout).toMatch(/^  MISSING\s+xorriso\s+xorriso\s/m);
    expect(r.stdout).toMatch(/^build-iso \(debian backend, the default\): \d+ missing$/m);
    expect(r.stderr).toMatch(/^inetboot: error: missing tools:$/m);
    expect(r.stderr).toContain('  grub-mkrescue (Debian package grub-common): lays out the bootable ISO; needed by build-iso; demo\n');
    const apt = r.stderr.split('\n').find((l) => l.startsWith('hint: install them: apt-get install '));
    expect(apt, r.stderr).toBeDefined();
    expect(apt!.split(' ')).toEqual(expect.arrayContaining(['grub-common', 'xorriso']));

    const j = await bin(['doctor', '--json'], { env });
    expect(j.code).toBe(1);
    const report = JSON.parse(j.stdout) as DoctorReport;
    expect(report.ok).toBe(false);
    expect(report.apt_get!.split(' ')).toEqual(expect.arrayContaining(['apt-get', 'install', 'grub-common', 'xorriso']));
    expect(report.commands.find((c) => c.command === 'serve')).toMatchObject({ ready: true, needs: [] });
    expect(report.cache).toMatchObject({ dir: join(empty, '.cache', 'inetboot'), exists: false });
    expect(j.stderr).toContain('inetboot: error: missing tools:');
  });
});
