/**
 * The hybrid ISO: grub-mkrescue lays out BIOS (El Torito + MBR for USB sticks written with dd)
 * and UEFI (an EFI system partition image) boot around a directory tree, through xorriso.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../exec/run.js';
import { needs } from '../exec/tools.js';
import { replaceFile } from '../files/replace.js';
import type { Logger } from '../log.js';
import { cachePartitionXorrisoArgs, findCachePartition, type CachePartition } from './cache-partition.js';

export const ISO_TOOLS = needs('grub-mkrescue', 'xorriso', 'mformat', 'mcopy', '/usr/lib/grub/i386-pc/modinfo.sh', '/usr/lib/grub/x86_64-efi/modinfo.sh');

/** Paths inside the ISO; GRUB's menu refers to them. */
export const ISO_PATHS = {
  grubCfg: 'boot/grub/grub.cfg',
  kernel: 'boot/inetboot/vmlinuz',
  initrd: 'boot/inetboot/preboot.img',
} as const;

export const VOLUME_ID = 'INETBOOT';

/**
 * The GRUB modules copied onto the ISO (grub-mkrescue adds their dependencies from
 * moddep.lst). Untrimmed, the modules of both platforms add about 15 MB: a grub-mkrescue ISO of
 * 25 MB fell to 9.3 MB with this list, --compress=xz and no fonts, locales or themes.
 * - normal, echo, test, linux, linux16, serial: what grub.cfg uses (linux brings initrd along,
 *   linux16 initrd16; linux16 exists for BIOS only, and grub-mkrescue skips it for UEFI).
 * - part_*: grub-mkrescue's early config loads every partition module it knows; a missing one
 *   stops GRUB at start with "file .../part_acorn.mod not found".
 * - all_video: under OVMF, without video modules `linux` fails with "no suitable video mode found".
 * - iso9660, search_*: the early config finds the CD by its files.
 */
export const GRUB_MODULES = [
  'normal', 'echo', 'test', 'linux', 'linux16', 'serial', 'terminal', 'all_video', 'iso9660',
  'search', 'search_fs_file', 'search_fs_uuid', 'search_label',
  'part_acorn', 'part_amiga', 'part_apple', 'part_bsd', 'part_dfly', 'part_dvh', 'part_gpt',
  'part_msdos', 'part_plan', 'part_sun', 'part_sunpc',
] as const;

/**
 * Writes the ISO through replaceFile() (a temporary name beside `output`, renamed when
 * complete), so a failed or interrupted build leaves the old ISO (or nothing), never half an
 * ISO. Every temporary file of grub-mkrescue and xorriso goes below workDir/tmp (TMPDIR).
 * With `cachePartition` (a FAT image) the output is a USB stick image: the ISO, then that
 * image as a partition (cache-partition.ts), found in the written GPT before the rename.
 */
export async function makeIso(opts: {
  root: string;
  output: string;
  workDir: string;
  cachePartition?: string;
  logger?: Logger;
  logFile?: string;
  signal?: AbortSignal;
}): Promise<{ bytes: number; cachePartition?: CachePartition }> {
  const tmpDir = join(opts.workDir, 'tmp');
  mkdirSync(tmpDir, { recursive: true });
  const wrapper = join(opts.workDir, 'xorriso-wrapper');
  writeFileSync(wrapper, XORRISO_WRAPPER, { mode: 0o755 });
  let cachePartition: CachePartition | undefined;
  await replaceFile(
    opts.output,
    async (tmp) => {
      await run(
        'grub-mkrescue',
        [
          '-o', tmp,
          `--xorriso=${wrapper}`,
          // No fonts, translations or themes: the menu is text (and serial); they would add ~10 MB.
          '--fonts=', '--locales=', '--themes=',
          '--compress=xz',
          `--install-modules=${GRUB_MODULES.join(' ')}`,
          opts.root,
          '--',
          '-volid', VOLUME_ID,
          ...(opts.cachePartition ? cachePartitionXorrisoArgs(opts.cachePartition) : []),
        ],
        { logger: opts.logger, logFile: opts.logFile, env: { TMPDIR: tmpDir }, signal: opts.signal },
      );
      if (opts.cachePartition) cachePartition = findCachePartition(tmp, opts.cachePartition);
    },
    { signal: opts.signal },
  );
  return { bytes: statSync(opts.output).size, cachePartition };
}

/**
 * grub-mkrescue (GRUB 2.06) formats the UEFI boot image as a 2.88 MB floppy
 * (`mformat -C -f 2880`) whatever it holds: about 200 KB of GRUB in 2.9 MB, more than half of
 * a tiny-profile ISO. grub-mkrescue runs this wrapper (`--xorriso=`) in place of xorriso once
 * the image tree (`-r DIR`) is complete: it copies efi.img's files into a FAT image just big
 * enough for them, then runs the real xorriso with the same arguments (xorriso takes the boot
 * image's size from the file). The El Torito and GPT entries then point at the small image.
 */
export const XORRISO_WRAPPER = `#!/bin/sh
set -eu
dir=
prev=
for a in "$@"; do
	if [ "$prev" = -r ]; then dir=$a; fi
	prev=$a
done
if [ -n "$dir" ] && [ -f "$dir/efi.img" ]; then
	files=$(mktemp -d)
	mcopy -s -i "$dir/efi.img" ::/efi "$files/"
	kib=$(du -sk "$files" | cut -f1)
	# FAT12 with 512-byte clusters: the files, a quarter more for FAT and directories, rounded to 32 sectors.
	sectors=$(( (kib * 2 * 5 / 4 + 64 + 31) / 32 * 32 ))
	rm -f "$dir/efi.img"
	mformat -C -i "$dir/efi.img" -T "$sectors" -h 1 -s 32 -c 1 ::
	mcopy -s -i "$dir/efi.img" "$files/efi" ::/
	rm -rf "$files"
fi
exec xorriso "$@"
`;
