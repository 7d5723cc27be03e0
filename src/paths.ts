/** Where inetboot's own files live, relative to the installed package. */
import { fileURLToPath } from 'node:url';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const GRUB_TEMPLATES = join(PACKAGE_ROOT, 'grub-templates');
/** The preboot's root filesystem overlay: one source for every backend (Buildroot uses it as BR2_ROOTFS_OVERLAY). */
export const PREBOOT_OVERLAY = join(PACKAGE_ROOT, 'buildroot-overlay', 'board', 'inetboot', 'rootfs_overlay');

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'inetboot');
}

/** The example config that `inetboot init` documents and `inetboot demo` boots. */
export const EXAMPLE_CONFIG = join(PACKAGE_ROOT, 'examples', 'inetboot.yaml');
