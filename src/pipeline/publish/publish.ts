/**
 * `inetboot publish ROOTDIR --out DIR`: a root file system as a tree any static web server or
 * CDN can serve, booted lazily (README, "Publishing a root"):
 *
 *   check ROOTDIR -> build the block daemon -> squashfs image (mksquashfs, zstd, reproducible)
 *   -> content-defined blocks and index (inetboot-pack) -> kernel, miniroot, boot profile
 *   -> sync -> root.json, last
 *
 *   DIR/root.json                 the manifest: the only name whose content changes
 *   DIR/blocks/HH/HASH[.zst]      the image's blocks, by the sha256 of their bytes
 *   DIR/index/HASH                the block index
 *   DIR/kernel/HASH               the root's kernel
 *   DIR/miniroot/HASH             the initramfs that mounts the image
 *   DIR/profile/HASH              the boot profile, with --profile (profile.ts)
 *   DIR/versions/                 every manifest published, and their history (versions.ts)
 *
 * Everything but root.json is named by its content, written under a temporary name and renamed,
 * and reused by a later publish into the same DIR: a new version costs its changed blocks. The
 * manifest is renamed into place only after the rest is on disk (sync), so a crash or a full
 * disk leaves the previous version whole and bootable.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { throwIfAborted, UsageError } from '../../errors.js';
import { longBuild, run, type RunCtx } from '../../exec/run.js';
import { checkTools, needs } from '../../exec/tools.js';
import { checkOutputDir } from '../../files/output.js';
import { withFileLock } from '../../files/lock.js';
import { replaceFile, writeFileReplacing } from '../../files/replace.js';
import { trackTemp, untrackTemp } from '../../files/temp.js';
import type { Logger } from '../../log.js';
import { buildBlockd, DAEMON_TOOLS } from './daemon.js';
import { MANIFEST_NAME, renderManifest, type ManifestFile, type RootManifest } from './manifest.js';
import { buildMiniroot } from './miniroot.js';
import { bootOrder } from './order.js';
import { parseIndex } from './index-file.js';
import { buildProfile } from './profile.js';
import { CONTENT_KINDS, recordVersion, VERSIONS_DIR } from './versions.js';
import { checkRootDir } from './root.js';
import { sha256File, sha256Hex } from '../../files/hash.js';

/** What publish runs, checked before any work (the daemon's libraries are checked when it is built). */
export const PUBLISH_TOOLS = [...needs('mksquashfs', 'busybox', 'depmod', 'ldd', 'sync', 'flock'), ...DAEMON_TOOLS];

export const DEFAULT_BLOCK_SIZE = 256 * 1024;
export const MIN_BLOCK_SIZE = 64 * 1024;
export const MAX_BLOCK_SIZE = 1024 * 1024;

export interface PublishOptions {
  root: string;
  out: string;
  blockSize: number;
  cacheDir: string;
  /** Recorded boot profiles (profile.ts readRecordedProfile), in the order given. */
  profiles?: string[][];
  logger: Logger;
  signal?: AbortSignal;
}

export interface PublishResult extends RootManifest {
  manifest: string;
  sha256: string;
  blocks_added: number;
  blocks_reused: number;
  bytes_written: number;
  stored_bytes: number;
  /** With --profile: the blocks it names, and those of the recorded profiles this image lacks. */
  profile_blocks: number;
  profile_dropped: number;
}

/**
 * mksquashfs's arguments for the image of ROOT, in the boot order of SORTFILE (order.ts):
 * - reproducible: the same tree gives the same bytes (fixed times; mksquashfs sorts entries);
 * - zstd, as Debian's kernel mounts it;
 * - -no-fragments: mksquashfs packs the tails of small files into shared fragment blocks in the
 *   order it writes files, so one file added early shifts the packing of every fragment after
 *   it, and the content-defined cuts (daemon/chunk.h) find new bytes all over the image.
 *   Measured with 64 KiB blocks on the lean test root, 100 KB added under /etc: 14 of 254
 *   blocks new with fragments, 6 without; on the Debian 12 test root, one package installed:
 *   12 blocks of 256 KiB new (3.4 MB) with fragments, 10 (2.4 MB) without. The image is 4%
 *   larger without (351 MB against 338 MB).
 */
export function squashfsArgs(root: string, image: string, sortFile: string): string[] {
  return [root, image, '-comp', 'zstd', '-noappend', '-reproducible', '-mkfs-time', '0', '-all-time', '0', '-no-fragments', '-sort', sortFile];
}

/** "256K", "1M", "65536" -> bytes: a power of two from 64 KiB to 1 MiB (the average length of a block). */
export function parseBlockSize(text: string): number {
  const m = /^(\d+)\s*([KM]?)(i?B)?$/i.exec(text.trim());
  const bytes = m ? Number(m[1]) * ({ '': 1, K: 1024, M: 1024 * 1024 }[(m[2] ?? '').toUpperCase()] ?? 1) : NaN;
  if (!Number.isInteger(bytes) || bytes < MIN_BLOCK_SIZE || bytes > MAX_BLOCK_SIZE || (bytes & (bytes - 1)) !== 0) {
    throw new UsageError(`--block-size ${text}: write a power of two from 64K to 1M, e.g. 256K (the default) or 1M`);
  }
  return bytes;
}

/** Puts a file into DIR/KIND/SHA256 (unless it is there, with that content) and names it. */
async function putContent(out: string, kind: (typeof CONTENT_KINDS)[number], from: string, signal?: AbortSignal): Promise<ManifestFile> {
  const sha256 = await sha256File(from);
  const path = `${kind}/${sha256}`;
  const target = join(out, path);
  if (!existsSync(target) || (await sha256File(target)) !== sha256) await replaceFile(target, (tmp) => copyFile(from, tmp), { signal });
  return { path, sha256, size: statSync(from).size };
}

/**
 * Runs `work` holding the tree's lock (DIR/.root.json.lock): one publish or prune at a time, so
 * that a prune never removes the blocks a publish is adding.
 */
export async function withTreeLock<T>(out: string, work: () => Promise<T>, opts: { logger: Logger; signal?: AbortSignal; option?: '--out' | '--prune' }): Promise<T> {
  const option = opts.option ?? '--out';
  checkOutputDir(out, option);
  // Publish makes the tree; prune never makes a directory that was not there.
  if (option === '--prune' && !existsSync(out)) throw new UsageError(`--prune ${out} does not exist: name the directory inetboot publish wrote (the one with root.json)`);
  mkdirSync(out, { recursive: true });
  return withFileLock(join(out, MANIFEST_NAME), work, { logger: opts.logger, signal: opts.signal, waitS: 600 });
}

export async function publish(opts: PublishOptions): Promise<PublishResult> {
  checkTools(PUBLISH_TOOLS);
  const kernel = checkRootDir(opts.root);
  return withTreeLock(opts.out, () => publishLocked(opts, kernel), opts);
}

async function publishLocked(opts: PublishOptions, kernel: ReturnType<typeof checkRootDir>): Promise<PublishResult> {
  const { logger, signal } = opts;
  const ctx: RunCtx = { logger, signal };
  for (const d of ['', 'blocks', ...CONTENT_KINDS, VERSIONS_DIR]) mkdirSync(join(opts.out, d), { recursive: true });
  // The image can be as big as the root: its temporary home is beside the tree, not in /tmp.
  const work = mkdtempSync(join(opts.out, '.publish-'));
  trackTemp(work);
  try {
    logger.step('building the block daemon and the packer');
    const blockd = await buildBlockd(opts.cacheDir, ctx);

    logger.step(`making the squashfs image of ${opts.root}`);
    const image = join(work, 'image.sqfs');
    // What a boot reads first (order.ts), so that its reads touch few blocks.
    const sortFile = join(work, 'boot-order');
    await writeFileReplacing(sortFile, bootOrder(opts.root), { signal });
    await longBuild('mksquashfs', [...squashfsArgs(opts.root, image, sortFile), '-progress'], {
      logFile: join(work, 'mksquashfs.log'),
      logger,
      signal,
      progress: (line) => {
        const pct = /(\d+)%\s*$/.exec(line)?.[1];
        return pct === undefined ? undefined : `${pct}% of the files`;
      },
    });
    throwIfAborted(signal);

    logger.step(`cutting it into blocks of ${opts.blockSize / 1024} KiB on average`);
    const indexTmp = join(work, 'index');
    // The packer says "pack: N of M MiB, K blocks" on stderr every 64 MiB (daemon/pack.c).
    const packed = await longBuild(blockd.pack, [image, join(opts.out, 'blocks'), indexTmp, String(opts.blockSize)], {
      logFile: join(work, 'pack.log'),
      logger,
      signal,
      progress: (line) => /(\d+ of \d+ MiB, \d+ blocks)/.exec(line)?.[1],
    });
    const counts = JSON.parse(packed.stdout) as { image_bytes: number; block_size: number; blocks: number; blocks_added: number; blocks_reused: number; bytes_written: number; stored_bytes: number };

    logger.step('building the miniroot');
    const mini = await buildMiniroot({ kernel, daemon: blockd.daemon, workDir: work, ...ctx });
    await writeFileReplacing(join(work, 'miniroot'), mini.image, { signal });
    logger.info(`miniroot: ${mini.files} files, ${mini.modules} modules`);

    // The boot profile names blocks of this image by their number in its index.
    let profile: ManifestFile | null = null;
    const built = opts.profiles ? buildProfile(opts.profiles, parseIndex(readFileSync(indexTmp), indexTmp)) : { blocks: 0, dropped: 0 };
    if (opts.profiles) logger.info(`boot profile: ${built.blocks} blocks of this image${built.dropped > 0 ? `; ${built.dropped} recorded blocks are not in it (changed since)` : ''}`);
    if (built.bytes) {
      await writeFileReplacing(join(work, 'profile'), built.bytes, { signal });
      profile = await putContent(opts.out, 'profile', join(work, 'profile'), signal);
    }

    const manifest: RootManifest = {
      image_bytes: counts.image_bytes,
      block_size: counts.block_size,
      blocks: counts.blocks,
      kernel: await putContent(opts.out, 'kernel', kernel.vmlinuz, signal),
      miniroot: await putContent(opts.out, 'miniroot', join(work, 'miniroot'), signal),
      index: await putContent(opts.out, 'index', indexTmp, signal),
      profile,
    };
    // Everything the manifest names is on disk before the manifest itself is.
    await run('sync', ['-f', join(opts.out, 'blocks')], ctx);
    throwIfAborted(signal);
    const text = renderManifest(manifest);
    // The version is recorded (versions/, for --prune) before it becomes the one that boots.
    await recordVersion(opts.out, text, signal);
    await writeFileReplacing(join(opts.out, MANIFEST_NAME), text, { signal });
    return {
      manifest: MANIFEST_NAME,
      sha256: sha256Hex(text),
      ...manifest,
      blocks_added: counts.blocks_added,
      blocks_reused: counts.blocks_reused,
      bytes_written: counts.bytes_written,
      stored_bytes: counts.stored_bytes,
      profile_blocks: built.blocks,
      profile_dropped: built.dropped,
    };
  } finally {
    untrackTemp(work);
    rmSync(work, { recursive: true, force: true });
  }
}
