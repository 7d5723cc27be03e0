/**
 * The hybrid ISO: grub-mkrescue lays out BIOS (El Torito + MBR for USB sticks written with dd)
 * and UEFI (an EFI system partition image) boot around a directory tree, through xorriso.
 */
import { renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { run } from '../exec/run.js';
import type { ToolNeed } from '../exec/tools.js';
import { OperationError } from '../errors.js';
import type { Logger } from '../log.js';

export const ISO_TOOLS: ToolNeed[] = [
  { name: 'grub-mkrescue', reason: 'lays out the bootable ISO' },
  { name: 'xorriso', reason: 'writes the ISO for grub-mkrescue' },
  { name: 'mformat', reason: 'grub-mkrescue builds the UEFI boot image with mtools' },
  { name: '/usr/lib/grub/i386-pc/modinfo.sh', reason: 'GRUB for BIOS machines' },
  { name: '/usr/lib/grub/x86_64-efi/modinfo.sh', reason: 'GRUB for UEFI machines' },
];

/** Paths inside the ISO; GRUB's menu refers to them. */
export const ISO_PATHS = {
  grubCfg: 'boot/grub/grub.cfg',
  kernel: 'boot/inetboot/vmlinuz',
  initrd: 'boot/inetboot/preboot.img',
} as const;

export const VOLUME_ID = 'INETBOOT';

/**
 * Writes the ISO next to `output` under a temporary name and renames it when complete,
 * so a failed or interrupted build leaves the old ISO (or nothing), never half an ISO.
 */
export async function makeIso(opts: { root: string; output: string; logger?: Logger; logFile?: string }): Promise<{ bytes: number }> {
  const tmp = join(dirname(opts.output), `.${basename(opts.output)}.tmp-${process.pid}`);
  rmSync(tmp, { force: true });
  try {
    await run(
      'grub-mkrescue',
      [
        '-o', tmp,
        // No fonts, translations or themes: the menu is text (and serial); they would add ~10 MB.
        '--fonts=', '--locales=', '--themes=',
        '--compress=xz',
        opts.root,
        '--',
        '-volid', VOLUME_ID,
      ],
      { logger: opts.logger, logFile: opts.logFile },
    );
    try {
      renameSync(tmp, opts.output);
    } catch (err) {
      throw new OperationError(`cannot put the ISO at ${opts.output}: ${(err as Error).message}`, {
        hint: 'choose another path with -o',
        cause: err,
      });
    }
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return { bytes: statSync(opts.output).size };
}
