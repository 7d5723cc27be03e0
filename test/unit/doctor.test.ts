/** The report of `inetboot doctor` with a fake tool lookup: no external program runs. */
import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { formatReport, size } from '../../src/commands/doctor.js';
import { cacheStatus, commandNeeds, doctor, kvmStatus } from '../../src/doctor/report.js';
import { TOOLS, joinNeeds, needs, type ToolLookup } from '../../src/exec/tools.js';
import { ISO_TOOLS } from '../../src/pipeline/iso.js';
import { BACKENDS } from '../../src/pipeline/preboot/backend.js';
import { PUBLISH_TOOLS } from '../../src/pipeline/publish/publish.js';
import { testTempDir } from '../helpers/temp.js';

const tmp = () => testTempDir('inetboot-doctor-');

/** A machine that has everything but `missing`. */
function lookupWithout(...missing: string[]): ToolLookup {
  return {
    program: (name) => (missing.includes(name) ? undefined : `/fake/bin/${name}`),
    file: (path) => !missing.includes(path),
  };
}

const everyLibrary = async () => true;

describe('doctor report', () => {
  test('everything found: ok, every command ready, no apt-get line', async () => {
    const cacheDir = join(tmp(), 'none');
    const r = await doctor({ cacheDir, lookup: lookupWithout(), hasLibrary: everyLibrary, kvmDevice: '/nonexistent/kvm' });
    expect(r.ok).toBe(true);
    expect(r.commands.every((c) => c.ready && c.missing.length === 0)).toBe(true);
    expect(r.missing_packages).toEqual([]);
    expect(r.apt_get).toBeNull();
    expect(r.tools.find((t) => t.name === 'grub-mkrescue')).toMatchObject({ status: 'found', path: '/fake/bin/grub-mkrescue', package: 'grub-common' });
    expect(r.tools.find((t) => t.name === '/usr/share/OVMF/OVMF_CODE_4M.fd')).toMatchObject({ kind: 'file', status: 'found', path: '/usr/share/OVMF/OVMF_CODE_4M.fd', package: 'ovmf' });
    expect(r.cache).toEqual({ dir: cacheDir, exists: false, bytes: 0, files: 0, entries: [] });
  });

  test('the lists are the ones the commands check: build-iso per backend, publish, smoke --uefi', async () => {
    const r = await doctor({ cacheDir: tmp(), lookup: lookupWithout(), hasLibrary: everyLibrary });
    const needsOf = (command: string) => r.commands.find((c) => c.command === command && c.when !== 'https:// URLs in the config')!.needs;
    expect(needsOf('build-iso')).toEqual([...ISO_TOOLS, ...BACKENDS.debian.tools].map((t) => t.name));
    expect(needsOf('build-iso --preboot-backend kernel-source')).toEqual([...ISO_TOOLS, ...BACKENDS['kernel-source'].tools].map((t) => t.name));
    expect(needsOf('build-preboot --preboot-backend buildroot')).toEqual(BACKENDS.buildroot.tools.map((t) => t.name));
    expect(needsOf('publish')).toEqual([...PUBLISH_TOOLS.map((t) => t.name), 'fuse3', 'libcurl', 'libzstd', 'libcrypto']);
    expect(needsOf('smoke --uefi')).toEqual(['qemu-system-x86_64', '/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd']);
    expect(needsOf('serve')).toEqual([]);
    // Every program and file named is in the one table of tools (libraries are pkg-config's).
    for (const c of commandNeeds()) for (const t of c.tools) expect(TOOLS[t.name], t.name).toBeDefined();
  });

  test('missing tools: which commands they stop, their packages once each, sorted, and the apt-get line', async () => {
    const r = await doctor({ cacheDir: tmp(), lookup: lookupWithout('xorriso', 'flex', '/usr/share/OVMF/OVMF_VARS_4M.fd'), hasLibrary: async (lib) => lib !== 'libzstd' });
    expect(r.ok).toBe(false);
    const state = Object.fromEntries(r.commands.map((c) => [`${c.command}${c.when ? ` (${c.when})` : ''}`, c.missing]));
    expect(state).toMatchObject({
      'build-iso (debian backend, the default)': ['xorriso'],
      'build-iso --preboot-backend kernel-source': ['xorriso', 'flex'],
      'build-preboot': [],
      'build-preboot --preboot-backend kernel-source': ['flex'],
      smoke: [],
      'smoke --uefi': ['/usr/share/OVMF/OVMF_VARS_4M.fd'],
      publish: ['libzstd'],
      'make-cache-disk': [],
    });
    expect(r.missing_packages).toEqual(['flex', 'libzstd-dev', 'ovmf', 'xorriso']);
    expect(r.apt_get).toBe('apt-get install flex libzstd-dev ovmf xorriso');
    expect(r.tools.find((t) => t.name === 'flex')!.needed_by).toEqual(['build-iso --preboot-backend kernel-source', 'build-preboot --preboot-backend kernel-source']);
  });

  test.each([
    {
      file: '/usr/lib/x86_64-linux-gnu/libcrypto.a',
      why: "the preboot's sha256 checker, which the debian and kernel-source backends compile",
      stops: ['build-iso', 'build-iso --preboot-backend kernel-source'],
      spares: ['build-iso --preboot-backend buildroot'],
      pkg: 'libssl-dev',
    },
    {
      file: '/usr/include/gelf.h',
      why: "the kernel's objtool, which the kernel-source backend builds",
      stops: ['build-iso --preboot-backend kernel-source', 'build-preboot --preboot-backend kernel-source'],
      spares: ['build-iso', 'build-iso --preboot-backend buildroot'],
      pkg: 'libelf-dev',
    },
  ])('$file ($why) stops exactly the commands that need it', async ({ file, stops, spares, pkg }) => {
    const r = await doctor({ cacheDir: tmp(), lookup: lookupWithout(file), hasLibrary: everyLibrary });
    const missing = (command: string) => r.commands.find((c) => c.command === command)!.missing;
    for (const command of stops) expect(missing(command), command).toEqual([file]);
    for (const command of spares) expect(missing(command), command).toEqual([]);
    expect(r.apt_get).toBe(`apt-get install ${pkg}`);
  });

  test('joinNeeds: each tool once, with the reason of its first list', () => {
    const joined = joinNeeds(needs('make', 'gcc'), needs('gcc', 'ldd'), [{ name: 'ldd', reason: 'another reason' }]);
    expect(joined.map((n) => n.name)).toEqual(['make', 'gcc', 'ldd']);
    expect(joined[2]!.reason).toBe(TOOLS.ldd!.does);
  });

  test('without pkg-config the libraries are not checked, and publish is not ready', async () => {
    let asked = 0;
    const r = await doctor({
      cacheDir: tmp(),
      lookup: lookupWithout('pkg-config'),
      hasLibrary: async () => {
        asked++;
        return true;
      },
    });
    expect(asked).toBe(0);
    expect(r.tools.filter((t) => t.kind === 'library').map((t) => t.status)).toEqual(['unchecked', 'unchecked', 'unchecked', 'unchecked']);
    expect(r.commands.find((c) => c.command === 'publish')!.missing).toEqual(['pkg-config', 'fuse3', 'libcurl', 'libzstd', 'libcrypto']);
    expect(r.apt_get).toBe('apt-get install libcurl4-openssl-dev libfuse3-dev libssl-dev libzstd-dev pkg-config');
  });

  test('the table: grouped by command, each tool once with its package, MISSING rows say what for', async () => {
    const r = await doctor({ cacheDir: join(tmp(), 'none'), lookup: lookupWithout('flex'), hasLibrary: everyLibrary, kvmDevice: '/nonexistent/kvm' });
    const text = formatReport(r);
    const lines = text.split('\n');
    expect(lines).toContain('build-iso (debian backend, the default): ready');
    expect(lines).toContain('build-iso --preboot-backend kernel-source: 1 missing');
    expect(lines).toContain('serve: ready (nothing outside Node.js)');
    expect(lines.filter((l) => /^\s+(found|MISSING)\s+grub-mkrescue\s/.test(l))).toEqual([expect.stringMatching(/^  found\s+grub-mkrescue\s+grub-common\s+\/fake\/bin\/grub-mkrescue$/)]);
    expect(lines.filter((l) => /^  MISSING/.test(l))).toEqual([expect.stringMatching(/^  MISSING\s+flex\s+flex\s+the kernel's Kconfig parser$/)]);
    expect(text).toMatch(/of them missing:\s+flex\n/);
    expect(text).toContain('KVM    no KVM: boots run under TCG, slower (/nonexistent/kvm does not exist');
    expect(text).toMatch(/cache  .*none: does not exist yet \(nothing cached\)/);
    expect(text).not.toContain('every command has what it needs');
    expect(lines.every((l) => l === l.trimEnd())).toBe(true);
  });
});

describe('KVM', () => {
  test('usable only when the device is there and read-writable', () => {
    const dir = tmp();
    expect(kvmStatus(join(dir, 'kvm'))).toMatchObject({ usable: false, detail: expect.stringContaining('does not exist') });
    const dev = join(dir, 'kvm');
    writeFileSync(dev, '');
    expect(kvmStatus(dev)).toMatchObject({ usable: true });
    chmodSync(dev, 0o444);
    // root may open any file read-write: the permission case can only be seen as another user.
    if (process.getuid?.() !== 0) expect(kvmStatus(dev)).toMatchObject({ usable: false, detail: expect.stringContaining('kvm group') });
  });
});

describe('cache size', () => {
  test('the bytes of every file below it, hard links once, symbolic links not followed, largest entry first', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'debs', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'debs', 'a.deb'), Buffer.alloc(3000));
    writeFileSync(join(dir, 'debs', 'sub', 'b'), Buffer.alloc(500));
    linkSync(join(dir, 'debs', 'a.deb'), join(dir, 'debs', 'hard-link'));
    mkdirSync(join(dir, 'kernels'));
    writeFileSync(join(dir, 'kernels', 'k'), Buffer.alloc(1000));
    symlinkSync('/usr', join(dir, 'kernels', 'usr-link'));
    writeFileSync(join(dir, 'stamp'), '');
    expect(cacheStatus(dir)).toEqual({
      dir,
      exists: true,
      bytes: 4500,
      files: 4,
      entries: [
        { name: 'debs', bytes: 3500 },
        { name: 'kernels', bytes: 1000 },
        { name: 'stamp', bytes: 0 },
      ],
    });
  });

  test('sizes for people', () => {
    expect([size(0), size(999), size(1000), size(1_500_000), size(2_345_000_000)]).toEqual(['0 bytes', '999 bytes', '1.0 kB', '1.5 MB', '2.3 GB']);
  });
});
