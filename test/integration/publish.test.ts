/**
 * `inetboot publish` and the block daemon on this machine (no QEMU): what publish refuses, the
 * tree it writes (content-addressed, reproducible, reusing blocks), and the daemon serving it
 * from nginx on 127.0.0.1 through FUSE and a loop mount: the tree byte for byte, random and
 * concurrent reads against the image made locally, a corrupted block an I/O error, a hostile
 * index refused. Mounting needs root (as CI runs); those parts are skipped elsewhere, saying so.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_NAME, parseManifest, type RootManifest } from '../../src/pipeline/publish/manifest.js';
import { bootOrder } from '../../src/pipeline/publish/order.js';
import { squashfsArgs } from '../../src/pipeline/publish/publish.js';
import { indexBlockNames } from '../../src/pipeline/publish/index-file.js';
import { bin, cli } from '../helpers/cli.js';
import { startNginx, type NginxServer } from '../helpers/nginx.js';
import { outputDir } from '../helpers/paths.js';
import { asanBlockd, ddBlock, leanRoot, seeded, startBlockd, type MountedBlockd } from '../helpers/published.js';
import { sha256 } from '../helpers/target.js';
import { scaled } from '../helpers/timeouts.js';

const ROOT_USER = process.getuid?.() === 0;
const OUT = outputDir('publish');
let root: string;
let manifest: RootManifest;
let sha: string;
const pub = join(OUT, 'tree');

const publishJson = async (rootDir: string, out: string, ...extra: string[]) => {
  const r = await bin(['publish', rootDir, '--out', out, '--json', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown> & { sha256: string; blocks: number; blocks_added: number; blocks_reused: number; bytes_written: number; image_bytes: number };
};

beforeAll(async () => {
  root = await leanRoot('publish-root');
  rmSync(pub, { recursive: true, force: true });
  const r = await publishJson(root, pub, '--block-size', '64K');
  sha = r.sha256;
  manifest = parseManifest(readFileSync(join(pub, MANIFEST_NAME), 'utf8'));
}, scaled(600_000));

describe('publish refuses what it cannot publish', () => {
  const bad = join(OUT, 'bad');
  beforeAll(() => {
    rmSync(bad, { recursive: true, force: true });
    for (const d of ['empty', 'two/boot', 'nomods/boot', 'nodep/boot', 'noinit/boot']) mkdirSync(join(bad, d), { recursive: true });
    for (const k of ['vmlinuz-6.1.0-1-amd64', 'vmlinuz-6.1.0-2-amd64']) writeFileSync(join(bad, 'two', 'boot', k), 'k');
    for (const d of ['nomods', 'nodep', 'noinit']) writeFileSync(join(bad, d, 'boot', 'vmlinuz-6.1.0-1-amd64'), 'k');
    mkdirSync(join(bad, 'nodep', 'lib', 'modules', '6.1.0-1-amd64'), { recursive: true });
    mkdirSync(join(bad, 'noinit', 'lib', 'modules', '6.1.0-1-amd64'), { recursive: true });
    for (const f of ['modules.dep', 'modules.builtin']) writeFileSync(join(bad, 'noinit', 'lib', 'modules', '6.1.0-1-amd64', f), '');
    writeFileSync(join(bad, 'a-file'), 'x');
  });

  it.each([
    ['no such directory', 'none', 'inetboot: error: BAD/none does not exist: name the directory of a root file system (e.g. one made by debootstrap)\n'],
    ['a file', 'a-file', 'inetboot: error: BAD/a-file is not a directory: name the directory of a root file system (e.g. one made by debootstrap)\n'],
    ['no kernel', 'empty', 'inetboot: error: BAD/empty has no kernel (no boot/vmlinuz-*): it must hold the kernel it boots; a root made with debootstrap --include=linux-image-amd64,systemd-sysv has them\n'],
    ['two kernels', 'two', 'inetboot: error: BAD/two has 2 kernels (boot/vmlinuz-6.1.0-1-amd64, boot/vmlinuz-6.1.0-2-amd64): remove all but the one to boot\n'],
    ['no modules', 'nomods', "inetboot: error: BAD/nomods has boot/vmlinuz-6.1.0-1-amd64 but no lib/modules/6.1.0-1-amd64/: the kernel's modules are missing; a root made with debootstrap --include=linux-image-amd64,systemd-sysv has them\n"],
    ['no modules.dep', 'nodep', 'inetboot: error: BAD/nodep: lib/modules/6.1.0-1-amd64/modules.dep is missing: run "depmod -b BAD/nodep 6.1.0-1-amd64"\n'],
    ['no init', 'noinit', 'inetboot: error: BAD/noinit has no sbin/init: the miniroot starts it after switching to the root; install an init (systemd-sysv)\n'],
  ])('%s', async (_what, dir, message) => {
    const r = await cli('publish', join(bad, dir), '--out', join(bad, 'out'));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: message.replaceAll('BAD', bad) });
    expect(existsSync(join(bad, 'out'))).toBe(false);
  });

  it('a --profile that is missing, or not a recorded profile: refused before any work, naming the line', async () => {
    const none = await cli('publish', root, '--out', join(bad, 'out'), '--profile', join(bad, 'no-profile'));
    expect({ code: none.code, stderr: none.stderr }).toEqual({
      code: 2,
      stderr: `inetboot: error: --profile ${join(bad, 'no-profile')} does not exist: name the file you copied from /run/inetboot/blocks/profile of a booted system\n`,
    });
    const text = join(bad, 'text.profile');
    writeFileSync(text, `# a comment\n${'a'.repeat(64)}\n\nblock 7\n`);
    const r = await cli('publish', root, '--out', join(bad, 'out'), '--profile', text);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 2,
      stderr: `inetboot: error: ${text}:4: is not the SHA-256 of a block (64 lower-case hex digits): a recorded profile has one a line, as /run/inetboot/blocks/profile of a booted system lists them\n`,
    });
    const empty = join(bad, 'empty.profile');
    writeFileSync(empty, '# nothing\n');
    const e = await cli('publish', root, '--out', join(bad, 'out'), '--profile', empty);
    expect({ code: e.code, stderr: e.stderr }).toEqual({ code: 2, stderr: `inetboot: error: --profile ${empty} names no block: record it after a boot (cat /run/inetboot/blocks/profile)\n` });
    expect(existsSync(join(bad, 'out'))).toBe(false);
  });

  it('a bad --block-size, and an --out that is a file', async () => {
    const r = await cli('publish', root, '--out', join(bad, 'out'), '--block-size', '100K');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: 'inetboot: error: --block-size 100K: write a power of two from 64K to 1M, e.g. 256K (the default) or 1M\n' });
    const big = await cli('publish', root, '--out', join(bad, 'out'), '--block-size', '2M');
    expect({ code: big.code, stderr: big.stderr }).toEqual({ code: 2, stderr: 'inetboot: error: --block-size 2M: write a power of two from 64K to 1M, e.g. 256K (the default) or 1M\n' });
    const f = await cli('publish', root, '--out', join(bad, 'a-file'));
    expect({ code: f.code, stderr: f.stderr }).toEqual({ code: 2, stderr: `inetboot: error: --out ${join(bad, 'a-file')} is a file: name a directory (it is created when missing)\n` });
  });
});

describe('the published tree', () => {
  it('holds the manifest, and every name it gives is the sha256 of the file', () => {
    expect(manifest.block_size).toBe(64 * 1024);
    for (const f of [manifest.kernel, manifest.miniroot, manifest.index]) {
      const bytes = readFileSync(join(pub, f.path));
      expect(bytes.length, f.path).toBe(f.size);
      expect(sha256(bytes), f.path).toBe(f.sha256);
    }
    expect(sha256(readFileSync(join(pub, MANIFEST_NAME)))).toBe(sha);
    expect(readFileSync(join(pub, manifest.kernel.path)).equals(readFileSync(join(root, 'boot', readdirSync(join(root, 'boot'))[0]!)))).toBe(true);
    expect(readdirSync(pub).sort()).toEqual(['blocks', 'index', 'kernel', 'miniroot', 'profile', 'root.json', 'versions']);
    expect(manifest.profile).toBeNull();
    expect(readFileSync(join(pub, 'versions', `${sha}.json`)).equals(readFileSync(join(pub, MANIFEST_NAME)))).toBe(true);
  });

  it('stores blocks in 256 sharded folders, named by the hash of their bytes', () => {
    const shards = readdirSync(join(pub, 'blocks'));
    expect(shards.every((s) => /^[0-9a-f]{2}$/.test(s))).toBe(true);
    const files = shards.flatMap((s) => readdirSync(join(pub, 'blocks', s)).map((f) => join(s, f)));
    expect(files.every((f) => /^([0-9a-f]{2})\/\1[0-9a-f]{62}(\.zst)?$/.test(f))).toBe(true);
    // Raw blocks hash to their own name (zstd ones are checked through the daemon below).
    const raw = files.filter((f) => !f.endsWith('.zst')).slice(0, 20);
    for (const f of raw) expect(sha256(readFileSync(join(pub, 'blocks', f)))).toBe(f.slice(3));
    // The text file compresses: some blocks are stored as zstd.
    expect(files.some((f) => f.endsWith('.zst'))).toBe(true);
  });

  it('is reproducible: the same root gives the same manifest, byte for byte', async () => {
    const again = join(OUT, 'again');
    rmSync(again, { recursive: true, force: true });
    const r = await publishJson(root, again, '--block-size', '64K');
    expect(r.sha256).toBe(sha);
    expect(readFileSync(join(again, MANIFEST_NAME)).equals(readFileSync(join(pub, MANIFEST_NAME)))).toBe(true);
  }, scaled(600_000));

  it('a new version into the same DIR costs only its changed blocks, and the old blocks stay', async () => {
    const same = await publishJson(root, pub, '--block-size', '64K');
    expect({ added: same.blocks_added, reused: same.blocks_reused, written: same.bytes_written }).toEqual({ added: 0, reused: same.blocks, written: 0 });
    const before = new Set(readdirSync(join(pub, 'blocks')).flatMap((s) => readdirSync(join(pub, 'blocks', s))));
    appendFileSync(join(root, 'srv', 'data', 'text.txt'), 'one more line\n');
    const next = await publishJson(root, pub, '--block-size', '64K');
    expect(next.sha256).not.toBe(sha);
    expect(next.blocks_added).toBeGreaterThan(0);
    expect(next.blocks_added).toBeLessThan(next.blocks / 4);
    const after = new Set(readdirSync(join(pub, 'blocks')).flatMap((s) => readdirSync(join(pub, 'blocks', s))));
    for (const b of before) expect(after.has(b)).toBe(true);
    // Back to the first version for the tests below.
    writeFileSync(join(root, 'srv', 'data', 'text.txt'), 'the lean root of the inetboot tests\n'.repeat(20000));
    expect((await publishJson(root, pub, '--block-size', '64K')).sha256).toBe(sha);
  }, scaled(900_000));

  it('a change at the start of the image costs the blocks around it, not every block after it', async () => {
    // etc/ is what a boot reads first (order.ts): its files lead the image, and 100 KB more
    // there moves every later byte. Cut every 64 KiB, nearly every block would change.
    const extra = join(root, 'etc', 'inetboot-test-extra');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(extra, seeded(100_000, 42));
    try {
      const next = await publishJson(root, pub, '--block-size', '64K');
      expect(next.blocks).toBeGreaterThan(100);
      expect(next.blocks_added, JSON.stringify(next)).toBeLessThanOrEqual(8);
      expect(next.bytes_written).toBeLessThan(600_000);
    } finally {
      rmSync(join(root, 'etc'), { recursive: true, force: true });
    }
    expect((await publishJson(root, pub, '--block-size', '64K')).sha256).toBe(sha);
  }, scaled(900_000));

  it('--prune keeps the last N versions and the one root.json names, and removes what none of them uses', async () => {
    const tree = join(OUT, 'versions');
    rmSync(tree, { recursive: true, force: true });
    const v: { sha256: string }[] = [];
    const file = join(root, 'srv', 'data', 'version.txt');
    try {
      for (let i = 1; i <= 3; i++) {
        writeFileSync(file, seeded(300_000, 100 + i));
        // Version 3 has a boot profile (the blocks of version 2, most of which it shares).
        const extra: string[] = [];
        if (i === 3) {
          const m2 = parseManifest(readFileSync(join(tree, MANIFEST_NAME), 'utf8'));
          const recorded = join(OUT, 'v2.profile');
          writeFileSync(recorded, indexBlockNames(readFileSync(join(tree, m2.index.path)), m2.index.path).map((b) => `${b.slice(3, 67)}\n`).join(''));
          extra.push('--profile', recorded);
        }
        v.push(await publishJson(root, tree, '--block-size', '64K', ...extra));
      }
    } finally {
      rmSync(file, { force: true });
    }
    const history = readFileSync(join(tree, 'versions', 'history'), 'utf8').trim().split('\n').map((l) => l.split(' ')[0]);
    expect(history).toEqual(v.map((x) => x.sha256));
    const names = (sha: string) => {
      const m = parseManifest(readFileSync(join(tree, 'versions', `${sha}.json`), 'utf8'));
      const blocks = indexBlockNames(readFileSync(join(tree, m.index.path)), m.index.path).map((b) => `blocks/${b}`);
      return new Set([m.kernel.path, m.miniroot.path, m.index.path, ...(m.profile ? [m.profile.path] : []), ...blocks]);
    };
    const [n1, n2, n3] = v.map((x) => names(x.sha256)) as [Set<string>, Set<string>, Set<string>];
    expect([...n3].some((f) => f.startsWith('profile/'))).toBe(true);
    const onlyV1 = [...n1].filter((f) => !n2.has(f) && !n3.has(f));
    expect(onlyV1.length).toBeGreaterThan(0);

    const r = await bin(['publish', '--prune', tree, '--keep', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { kept: string[]; dropped: string[]; files_removed: number; blocks_removed: number };
    expect(out.kept.sort()).toEqual([v[1]!.sha256, v[2]!.sha256].sort());
    expect(out.dropped).toEqual([v[0]!.sha256]);
    for (const f of onlyV1) expect(existsSync(join(tree, f)), f).toBe(false);
    for (const f of [...n2, ...n3]) expect(existsSync(join(tree, f)), f).toBe(true);
    expect(existsSync(join(tree, 'versions', `${v[0]!.sha256}.json`))).toBe(false);
    expect(readFileSync(join(tree, 'versions', 'history'), 'utf8').trim().split('\n').map((l) => l.split(' ')[0])).toEqual([v[1]!.sha256, v[2]!.sha256]);
    expect(out.blocks_removed).toBe(onlyV1.filter((f) => f.startsWith('blocks/')).length);

    // --keep 1 keeps the current version (root.json) even when it is not the last published:
    // here root.json is put back to version 2, as an operator rolling back would.
    writeFileSync(join(tree, MANIFEST_NAME), readFileSync(join(tree, 'versions', `${v[1]!.sha256}.json`)));
    const one = await bin(['publish', '--prune', tree, '--keep', '1', '--json']);
    expect(one.code, one.stderr).toBe(0);
    expect((JSON.parse(one.stdout) as { kept: string[] }).kept.sort()).toEqual([v[1]!.sha256, v[2]!.sha256].sort());
    for (const f of [...n2, ...n3]) expect(existsSync(join(tree, f)), f).toBe(true);

    // A damaged tree is refused whole: nothing is removed.
    const m2 = parseManifest(readFileSync(join(tree, MANIFEST_NAME), 'utf8'));
    const saved = readFileSync(join(tree, m2.index.path));
    rmSync(join(tree, m2.index.path));
    const before = (await execa('find', [tree, '-type', 'f'])).stdout.split('\n').sort();
    const bad = await bin(['publish', '--prune', tree]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`names ${m2.index.path}, which is not there: the tree is damaged; nothing was removed`);
    expect((await execa('find', [tree, '-type', 'f'])).stdout.split('\n').sort()).toEqual(before);
    writeFileSync(join(tree, m2.index.path), saved);
  }, scaled(900_000));

  it('--prune refuses what is not a tree, and options that do not go with it', async () => {
    const empty = join(OUT, 'not-a-tree');
    mkdirSync(empty, { recursive: true });
    const r = await bin(['publish', '--prune', empty]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: `inetboot: error: ${empty} has no root.json: it is not a tree inetboot publish wrote; nothing was removed` });
    const both = await bin(['publish', root, '--prune', empty]);
    expect({ code: both.code, stderr: both.stderr }).toEqual({ code: 2, stderr: 'inetboot: error: --prune DIR takes no ROOTDIR, --out or --profile: it only removes what old versions of DIR used' });
    const missing = join(OUT, 'no-such-tree');
    const gone = await bin(['publish', '--prune', missing]);
    expect({ code: gone.code, stderr: gone.stderr }).toEqual({ code: 2, stderr: `inetboot: error: --prune ${missing} does not exist: name the directory inetboot publish wrote (the one with root.json)` });
    expect(existsSync(missing)).toBe(false);
    const zero = await bin(['publish', '--prune', pub, '--keep', '0']);
    expect({ code: zero.code, stderr: zero.stderr }).toEqual({ code: 2, stderr: 'inetboot: error: --keep 0: write how many versions to keep, from 1 to 1000' });
    const none = await bin(['publish']);
    expect({ code: none.code, stderr: none.stderr }).toEqual({ code: 2, stderr: 'inetboot: error: publish needs ROOTDIR and --out DIR (or --prune DIR): inetboot publish ROOTDIR --out DIR' });
  });

  it('--out that cannot be written: exit 1 with the reason, nothing half-written', async () => {
    const ro = join(OUT, 'ro');
    rmSync(ro, { recursive: true, force: true });
    mkdirSync(ro);
    writeFileSync(join(ro, 'blocks'), 'a file where a directory must be');
    const r = await cli('publish', root, '--out', ro);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/EEXIST|ENOTDIR|not a directory|file already exists/);
    expect(readdirSync(ro)).toEqual(['blocks']);
    chmodSync(ro, 0o755);
  });
});

describe.skipIf(!ROOT_USER)('a full --out (a small tmpfs; mounting needs root)', () => {
  it('fails with the reason, and the version there stays whole: its manifest and every file it names', async () => {
    const full = join(OUT, 'full');
    rmSync(full, { recursive: true, force: true });
    mkdirSync(full);
    // Room for the first version while it is made (publish makes the image beside the tree, so
    // about twice the tree); then shrunk to what it holds and 2 MiB more: not enough for a second
    // version with 4 MB of new, incompressible data (its image and its new blocks).
    const used = Number((await execa('du', ['-sb', pub])).stdout.split('\t')[0]);
    await execa('mount', ['-t', 'tmpfs', '-o', `size=${2 * used + 8 * 1024 * 1024}`, 'tmpfs', full]);
    try {
      const v1 = await publishJson(root, full, '--block-size', '64K');
      const holds = Number((await execa('du', ['-sb', full])).stdout.split('\t')[0]);
      await execa('mount', ['-o', `remount,size=${holds + 2 * 1024 * 1024}`, full]);
      const before = readFileSync(join(full, MANIFEST_NAME));
      const bigger = join(OUT, 'full-root');
      rmSync(bigger, { recursive: true, force: true });
      await execa('cp', ['-a', root, bigger]);
      writeFileSync(join(bigger, 'srv', 'noise'), seeded(4 * 1024 * 1024, 7));
      const r = await cli('publish', bigger, '--out', full, '--block-size', '64K');
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/ENOSPC|No space left on device/);
      // The manifest is the first version's, byte for byte, and all it names is there and whole.
      expect(readFileSync(join(full, MANIFEST_NAME)).equals(before)).toBe(true);
      const m = parseManifest(before.toString('utf8'));
      expect(m.index.sha256).toBe(parseManifest(readFileSync(join(pub, MANIFEST_NAME), 'utf8')).index.sha256);
      for (const f of [m.kernel, m.miniroot, m.index]) expect(sha256(readFileSync(join(full, f.path))), f.path).toBe(f.sha256);
      // Nothing half-written is left: no temporary names anywhere in the tree.
      const names = (await execa('find', [full, '(', '-name', '.*', '-o', '-name', '*.tmp', ')'])).stdout.split('\n').filter((n) => n !== '' && n !== full);
      expect(names).toEqual([]);
      expect(v1.sha256).toBe(sha);
    } finally {
      await execa('umount', [full], { reject: false });
    }
  }, scaled(600_000));
});

describe.skipIf(!ROOT_USER)('the block daemon serving the tree (FUSE and loop mounts need root)', () => {
  let nginx: NginxServer;
  let daemon: string;
  let local: string;
  let d: MountedBlockd;
  const args = (src = nginx.url('')) => ['--source', src, '--index-sha256', manifest.index.sha256, '--index-size', String(manifest.index.size)];

  beforeAll(async () => {
    daemon = await asanBlockd();
    nginx = await startNginx({ root: pub, name: 'publish-nginx' });
    // The image made here with publish's own options must be the image the daemon serves.
    local = join(OUT, 'local.sqfs');
    rmSync(local, { force: true });
    // Made here the way publish makes it (src/pipeline/publish/publish.ts), boot order included.
    const sortFile = join(OUT, 'local.sort');
    writeFileSync(sortFile, bootOrder(root));
    await execa('mksquashfs', [...squashfsArgs(root, local, sortFile), '-no-progress', '-quiet']);
    d = await startBlockd(daemon, args());
  }, scaled(600_000));

  afterAll(async () => {
    await d?.stop();
    await nginx?.stop();
  });

  it('serves the image byte for byte, and the loop-mounted squashfs is the root', async () => {
    expect(statSync(d.image).size).toBe(manifest.image_bytes);
    expect((await execa('cmp', [d.image, local], { reject: false })).exitCode).toBe(0);
    const mnt = join(OUT, 'mnt');
    mkdirSync(mnt, { recursive: true });
    await execa('mount', ['-t', 'squashfs', '-o', 'ro,loop', d.image, mnt]);
    try {
      const diff = await execa('diff', ['-r', '--no-dereference', root, mnt], { reject: false });
      expect(diff.exitCode, diff.stdout).toBe(0);
    } finally {
      await execa('umount', [mnt]);
    }
    expect(d.stats().verify_failures).toBe(0);
  }, scaled(300_000));

  it('random and concurrent reads match the local image', async () => {
    const want = readFileSync(local);
    const reads = Array.from({ length: 64 }, (_, i) => {
      const off = Math.floor((seeded(4, i + 7).readUInt32LE(0) / 2 ** 32) * (want.length - 1));
      return { off, len: Math.min(1 + ((i * 7919) % 300_000), want.length - off) };
    });
    const { open } = await import('node:fs/promises');
    const fh = await open(d.image, 'r');
    try {
      await Promise.all(
        reads.map(async ({ off, len }) => {
          const buf = Buffer.alloc(len);
          const { bytesRead } = await fh.read(buf, 0, len, off);
          expect(bytesRead).toBe(len);
          expect(buf.equals(want.subarray(off, off + len)), `at ${off}`).toBe(true);
        }),
      );
    } finally {
      await fh.close();
    }
  }, scaled(120_000));

  it('a corrupted block is an I/O error naming the block and its URL, never wrong bytes', async () => {
    // Block 3's file on the server is replaced by other bytes.
    const indexFile = join(pub, manifest.index.path);
    const name = indexBlockNames(readFileSync(indexFile), indexFile)[3]!;
    const hex = name.slice(3, 67);
    const file = join(pub, 'blocks', name);
    const saved = readFileSync(file);
    writeFileSync(file, Buffer.alloc(saved.length, 0x55));
    const fresh = await startBlockd(daemon, args());
    try {
      const r = await ddBlock(fresh.image, indexFile, 3);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/Input\/output error/);
      expect(fresh.log()).toContain(`block 3 (${hex.slice(0, 16)}...) from ${nginx.url(`blocks/${name}`)}: `);
      expect(fresh.log()).toContain(`block 3 (${hex}) refused or unreachable on every source`);
      expect(fresh.stats().verify_failures).toBeGreaterThan(0);
      // The blocks around it still read.
      // (Not 2 or 4: a read is made of whole pages, and blocks start anywhere in a page, so the
      // last page of block 2 and the first of block 4 hold bytes of block 3.)
      for (const i of [1, 5]) {
        const ok = await ddBlock(fresh.image, indexFile, i);
        expect(ok.exitCode, ok.stderr).toBe(0);
      }
    } finally {
      await fresh.stop();
      writeFileSync(file, saved);
    }
  }, scaled(120_000));

  it('records the blocks reads touch, in order; publish --profile names them; the daemon fetches them ahead of the reads', async () => {
    const indexFile = join(pub, manifest.index.path);
    const hashes = indexBlockNames(readFileSync(indexFile), indexFile).map((b) => b.slice(3, 67));
    const fresh = await startBlockd(daemon, args());
    let recorded: string;
    try {
      for (const i of [5, 2, 9]) expect((await ddBlock(fresh.image, indexFile, i)).exitCode).toBe(0);
      recorded = readFileSync(join(fresh.mountpoint, 'profile'), 'utf8');
    } finally {
      await fresh.stop();
    }
    // One hash a line, each block once, in the order first read (the kernel reads whole pages,
    // and may read a little ahead of dd).
    const lines = recorded.split('\n').slice(0, -1);
    expect(lines.every((l) => hashes.includes(l)), recorded).toBe(true);
    expect(new Set(lines).size).toBe(lines.length);
    // Pages: the first one block 5 starts in may hold the end of block 4.
    expect([hashes[4], hashes[5]]).toContain(lines[0]);
    expect(lines.indexOf(hashes[5]!)).toBeLessThanOrEqual(1);
    expect(lines.indexOf(hashes[2]!)).toBeGreaterThan(lines.indexOf(hashes[5]!));
    expect(lines.indexOf(hashes[9]!)).toBeGreaterThan(lines.indexOf(hashes[2]!));
    const profileFile = join(OUT, 'recorded.profile');
    writeFileSync(profileFile, `# recorded by the test\n${recorded}`);

    // Published: the same image (every block reused), and a profile naming those blocks.
    const withProfile = join(OUT, 'with-profile');
    rmSync(withProfile, { recursive: true, force: true });
    const r = await publishJson(root, withProfile, '--block-size', '64K', '--profile', profileFile);
    expect({ blocks: r.profile_blocks, dropped: r.profile_dropped }).toEqual({ blocks: lines.length, dropped: 0 });
    const m = parseManifest(readFileSync(join(withProfile, MANIFEST_NAME), 'utf8'));
    expect(m.index.sha256).toBe(manifest.index.sha256);
    const prof = readFileSync(join(withProfile, m.profile!.path));
    expect(sha256(prof)).toBe(m.profile!.sha256);
    expect(prof.subarray(0, 8).toString('latin1')).toBe('IBPROFL1');
    const numbers = Array.from({ length: prof.readUInt32LE(8) }, (_, i) => prof.readUInt32LE(16 + 4 * i));
    expect(numbers.map((n) => hashes[n])).toEqual(lines);

    // Booted with it, the daemon has fetched those blocks before anything reads them.
    const srv = await startNginx({ root: withProfile, name: 'publish-profile' });
    const ahead = await startBlockd(daemon, ['--source', srv.url(''), '--index-sha256', m.index.sha256, '--index-size', String(m.index.size), '--profile-sha256', m.profile!.sha256, '--profile-size', String(m.profile!.size)]);
    try {
      expect(ahead.log()).toContain(`profile ${m.profile!.sha256}: ${lines.length} blocks to fetch ahead of the reads`);
      const deadline = Date.now() + scaled(20_000);
      while ((ahead.stats().prefetched ?? 0) < lines.length) {
        if (Date.now() > deadline) throw new Error(`not fetched ahead: ${JSON.stringify(ahead.stats())}\n${ahead.log()}`);
        await new Promise((res) => setTimeout(res, 200));
      }
      const before = ahead.stats().transfers;
      expect((await ddBlock(ahead.image, indexFile, 9)).exitCode).toBe(0);
      const after = ahead.stats();
      expect(after.prefetch_hits).toBeGreaterThanOrEqual(1);
      expect(after.transfers).toBe(before);
    } finally {
      await ahead.stop();
    }
    // A profile that is not the one the manifest names: a warning, and the image is still served.
    const wrong = await startBlockd(daemon, ['--source', srv.url(''), '--index-sha256', m.index.sha256, '--index-size', String(m.index.size), '--profile-sha256', 'e'.repeat(64), '--profile-size', String(m.profile!.size)]);
    try {
      expect(wrong.log()).toContain('WARNING: no source delivered the boot profile: blocks are fetched as they are read');
      expect((await ddBlock(wrong.image, indexFile, 2)).exitCode).toBe(0);
      expect(wrong.stats().prefetched).toBe(0);
    } finally {
      await wrong.stop();
    }
    // A block of the profile the server has lost: fetching it ahead fails quietly; the read
    // that needs it fails as any read does, naming it.
    const lost = indexBlockNames(readFileSync(join(withProfile, m.index.path)), m.index.path)[numbers[0]!]!;
    const lostFile = join(withProfile, 'blocks', lost);
    const saved = readFileSync(lostFile);
    rmSync(lostFile);
    const missing = await startBlockd(daemon, ['--source', srv.url(''), '--index-sha256', m.index.sha256, '--index-size', String(m.index.size), '--profile-sha256', m.profile!.sha256, '--profile-size', String(m.profile!.size)]);
    try {
      const deadline = Date.now() + scaled(20_000);
      while ((missing.stats().prefetched ?? 0) < lines.length || (missing.stats().prefetch_failed ?? 0) < 1) {
        if (Date.now() > deadline) throw new Error(`not fetched ahead: ${JSON.stringify(missing.stats())}\n${missing.log()}`);
        await new Promise((res) => setTimeout(res, 200));
      }
      expect(missing.log()).not.toContain('refused or unreachable');
      expect((await ddBlock(missing.image, indexFile, numbers[0]!)).exitCode).not.toBe(0);
      expect(missing.log()).toContain(`block ${numbers[0]} (${lost.slice(3, 67)}) refused or unreachable on every source`);
    } finally {
      await missing.stop();
      writeFileSync(lostFile, saved);
      await srv.stop();
    }
  }, scaled(300_000));

  it('an index that is truncated, or not the pinned one, is refused and nothing is mounted', async () => {
    const hostile = join(OUT, 'hostile-tree');
    rmSync(hostile, { recursive: true, force: true });
    mkdirSync(join(hostile, 'index'), { recursive: true });
    const idx = readFileSync(join(pub, manifest.index.path));
    writeFileSync(join(hostile, 'index', manifest.index.sha256), idx.subarray(0, idx.length - 40));
    const srv = await startNginx({ root: hostile, name: 'publish-hostile' });
    try {
      await expect(startBlockd(daemon, args(srv.url('')))).rejects.toThrow(
        new RegExp(`index ${srv.url(`index/${manifest.index.sha256}`).replace(/[.?]/g, '\\$&')} refused: ${idx.length - 40} bytes with sha256 [0-9a-f]{64}, expected ${idx.length} bytes`),
      );
      // Bytes beyond the pinned size are cut off, not kept.
      writeFileSync(join(hostile, 'index', manifest.index.sha256), Buffer.concat([idx, Buffer.alloc(100)]));
      await expect(startBlockd(daemon, args(srv.url('')))).rejects.toThrow(`more than the ${idx.length} bytes it must have`);
    } finally {
      await srv.stop();
    }
  }, scaled(120_000));
});

describe('the index parser under libFuzzer (a short run)', () => {
  it('survives random and mutated indexes and profiles', async () => {
    const dir = outputDir('blockd-fuzz');
    const corpus = join(dir, 'corpus');
    mkdirSync(corpus, { recursive: true });
    writeFileSync(join(corpus, 'published'), readFileSync(join(pub, manifest.index.path)));
    await execa('make', ['-C', join(process.cwd(), 'daemon'), `OUT=${dir}`, 'fuzz']);
    for (const target of ['fuzz-index', 'fuzz-profile']) {
      const r = await execa(join(dir, target), ['-max_total_time=15', '-rss_limit_mb=1024', ...(target === 'fuzz-index' ? [corpus] : [])], { reject: false, all: true, cwd: dir });
      expect(r.exitCode, r.all?.split('\n').slice(-20).join('\n')).toBe(0);
      expect(r.all).toMatch(/Done \d+ runs in \d+ second/);
    }
  }, scaled(180_000));
});
