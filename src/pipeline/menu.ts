/**
 * Pipeline stage "menu": the config becomes grub.cfg.
 *
 * GRUB gets only titles, ids and fixed paths. Each entry boots the preboot system with
 * `ib.entry=ID` plus console parameters; the entry's URLs, hashes and target command
 * line travel as data files inside the preboot initramfs. That keeps user data out of
 * GRUB's quoting and out of its 2048-byte command-line buffer, and leaves the line that
 * starts the preboot short enough for a person to edit at GRUB's prompt. That line's command
 * is `$inetboot_linux`, set once in grub-templates/header.cfg: linux16 on BIOS, linux on UEFI.
 *
 * The templates in grub-templates/ hold no logic: every value is quoted here first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config, Entry } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { GRUB_TEMPLATES } from '../paths.js';
import { ISO_PATHS } from './iso.js';
import { grubLinuxArgs, grubMenuTitle, grubWord, kernelCmdline, kernelParam, type KernelParam } from '../quote.js';

/** Where the ISO holds the preboot kernel and initramfs. */
export const PREBOOT_KERNEL = `/${ISO_PATHS.kernel}`;
export const PREBOOT_INITRD = `/${ISO_PATHS.initrd}`;

/** The serial console GRUB and the preboot kernel use when `serial: true`. */
const SERIAL_KERNEL_CONSOLE = 'ttyS0,115200n8';

export interface MenuOptions {
  kernelPath?: string;
  initrdPath?: string;
}

/**
 * Replaces each `@NAME@` in a template by values[NAME]. Throws on a placeholder with no
 * value and on a value with no placeholder: either is a bug in inetboot, not in the
 * user's config. One pass: text inserted is never scanned again, so a title that happens
 * to contain `@TITLE@` stays as it is.
 */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>, name = 'template'): string {
  const unused = new Set(Object.keys(values));
  const filled = template.replace(/@([A-Z][A-Z0-9_]*)@/g, (_match, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`${name}: placeholder @${key}@ has no value`);
    unused.delete(key);
    return value;
  });
  if (unused.size > 0) throw new Error(`${name}: no placeholder for ${[...unused].map((k) => `@${k}@`).join(', ')}`);
  return filled;
}

function renderTemplate(file: string, values: Readonly<Record<string, string>> = {}): string {
  return fillTemplate(readFileSync(join(GRUB_TEMPLATES, file), 'utf8'), values, `grub-templates/${file}`);
}

/**
 * The preboot kernel's parameters for one entry. The last `console=` becomes
 * /dev/console, so with a serial port the preboot's messages go there (where boot tests
 * read them) and still appear on the screen.
 */
export function prebootParams(entry: Pick<Entry, 'id'>, config: Pick<Config, 'serial'>): KernelParam[] {
  const consoles: KernelParam[] = config.serial ? [['console', 'tty0'], ['console', SERIAL_KERNEL_CONSOLE]] : [['console', 'tty0']];
  return [['ib.entry', entry.id], ...consoles, ['quiet']];
}

/** The preboot kernel's command line for one entry, one word per parameter, as the kernel reads it. */
export function prebootCmdline(entry: Pick<Entry, 'id'>, config: Pick<Config, 'serial'>): string[] {
  const params = prebootParams(entry, config);
  kernelCmdline(params); // checks the length
  return params.map(([key, value]) => kernelParam(key, value));
}

function defaultEntryId(config: Config): string {
  const first = config.entries[0];
  if (!first) throw new UsageError('no entries: add one with inetboot add-entry');
  if (config.default === undefined) return first.id;
  if (!config.entries.some((e) => e.id === config.default)) {
    throw new UsageError(`default entry "${config.default}" is not one of the entries: ${config.entries.map((e) => e.id).join(', ')}`);
  }
  return config.default;
}

function renderEntry(entry: Entry, config: Config, kernelPath: string, initrdPath: string): string {
  const args = grubLinuxArgs(kernelPath, prebootParams(entry, config));
  return renderTemplate('entry.cfg', {
    TITLE: grubMenuTitle(entry.title),
    ID: grubWord(entry.id),
    MESSAGE: grubWord(`Loading inetboot preboot for ${entry.title} ...`),
    KERNEL: grubWord(kernelPath),
    ARGS: args.map(grubWord).join(' '),
    INITRD: grubWord(initrdPath),
  });
}

/** grub.cfg for the config. Throws UsageError when there is nothing to boot. */
export function renderMenu(config: Config, opts: MenuOptions = {}): string {
  const kernelPath = opts.kernelPath ?? PREBOOT_KERNEL;
  const initrdPath = opts.initrdPath ?? PREBOOT_INITRD;
  const defaultId = defaultEntryId(config);
  // GRUB, like the config, reads -1 as "wait for a choice".
  if (!Number.isInteger(config.timeout) || config.timeout < -1) {
    throw new UsageError(`timeout must be a whole number of seconds, -1 or more, not ${config.timeout}`);
  }
  return [
    renderTemplate('header.cfg', { TIMEOUT: String(config.timeout), DEFAULT: grubWord(defaultId) }),
    config.serial ? renderTemplate('serial.cfg') : '',
    ...config.entries.map((entry) => renderEntry(entry, config, kernelPath, initrdPath)),
  ].join('');
}
