/**
 * Which kernel modules go into the preboot initramfs, and their dependency closure.
 * The stock Debian kernel has nearly every NIC driver, virtio_pci and the USB host
 * controllers as modules (the modules.builtin file of the kernel package lists the few built
 * in); the init script loads them by modalias.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { run, type RunCtx } from '../../exec/run.js';
import { OperationError } from '../../errors.js';
import type { Manifest } from '../manifest.js';
import type { KernelTree } from './kernel-package.js';

/** Module names (as in `modprobe NAME`) the preboot carries, grouped by why. */
export const PREBOOT_MODULES: Record<string, readonly string[]> = {
  // virtio_net binds only once virtio_pci has found the device; nothing pulls virtio_pci in by dependency.
  virtio: ['virtio_pci', 'virtio_net'],
  'PCI Ethernet': [
    'e1000', 'e1000e', 'igb', 'igc', 'ixgbe', 'r8169', '8139too', '8139cp', 'ne2k_pci', 'pcnet32',
    'tg3', 'bnx2', 'vmxnet3', 'atlantic', 'alx', 'atl1c', 'forcedeth', 'sky2', 'via_rhine', 'tulip',
  ],
  'hypervisor NICs': ['hv_netvsc', 'xen_netfront'],
  'USB host controllers': ['xhci_pci', 'ehci_pci', 'ohci_pci', 'uhci_hcd'],
  'USB Ethernet': ['usbnet', 'cdc_ether', 'cdc_ncm', 'r8152', 'ax88179_178a', 'asix'],
  // The local cache disk (lib/inetboot/cache.sh). Debian mounts vfat with codepage 437 and
  // iocharset ascii by default, and loads neither NLS module by dependency; ext4 also mounts
  // ext2/ext3 and asks for crc32c through the crypto API, which no dependency pulls in either.
  // sd_mod's crc-t10dif likewise asks the crypto API for crct10dif.
  'cache disk': [
    'virtio_blk', 'virtio_scsi', 'ahci', 'ata_piix', 'sd_mod', 'usb_storage', 'uas', 'nvme',
    'vfat', 'nls_cp437', 'nls_ascii', 'nls_iso8859_1', 'ext4', 'crc32c_generic', 'crct10dif_generic',
  ],
};

export function allPrebootModules(): string[] {
  return Object.values(PREBOOT_MODULES).flat();
}

const canon = (name: string) => name.replace(/-/g, '_');

function moduleName(path: string): string {
  return canon(path.split('/').pop()!.replace(/\.ko(\.(xz|gz|zst))?$/, ''));
}

/** Parses modules.dep: "kernel/a.ko: kernel/b.ko kernel/c.ko" per line. */
export function parseModulesDep(text: string): Map<string, { path: string; deps: string[] }> {
  const byName = new Map<string, { path: string; deps: string[] }>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean);
    byName.set(moduleName(path), { path, deps });
  }
  return byName;
}

/** The module files (paths relative to lib/modules/<release>) for `wanted`, with all their dependencies. */
export function moduleClosure(depText: string, builtinText: string, wanted: readonly string[]): { files: string[]; builtin: string[]; missing: string[] } {
  const deps = parseModulesDep(depText);
  const builtins = new Set(builtinText.split('\n').filter(Boolean).map(moduleName));
  const files = new Set<string>();
  const builtin: string[] = [];
  const missing: string[] = [];
  const visit = (path: string) => {
    if (files.has(path)) return;
    files.add(path);
    for (const d of deps.get(moduleName(path))?.deps ?? []) visit(d);
  };
  for (const name of wanted) {
    const m = deps.get(canon(name));
    if (m) visit(m.path);
    else if (builtins.has(canon(name))) builtin.push(name);
    else missing.push(name);
  }
  return { files: [...files].sort(), builtin, missing };
}

/**
 * Adds the modules and a fresh modules.dep/alias (computed by depmod over exactly the files
 * that are shipped) under lib/modules/<release>/ in the manifest.
 */
export async function addModules(manifest: Manifest, kernel: KernelTree, wanted: readonly string[], workDir: string, ctx: RunCtx = {}): Promise<{ count: number; missing: string[] }> {
  const depText = readFileSync(join(kernel.modulesDir, 'modules.dep'), 'utf8');
  const builtinText = readFileSync(join(kernel.modulesDir, 'modules.builtin'), 'utf8');
  const { files, missing } = moduleClosure(depText, builtinText, wanted);
  if (files.length === 0) throw new OperationError(`none of the preboot's network modules were found in ${kernel.pkg}`);
  if (missing.length > 0) ctx.logger?.warn(`kernel ${kernel.release} lacks modules: ${missing.join(', ')}`);

  const stage = mkdtempSync(join(workDir, 'modules-'));
  try {
    const stageModules = join(stage, 'lib', 'modules', kernel.release);
    for (const rel of files) {
      mkdirSync(dirname(join(stageModules, rel)), { recursive: true });
      copyFileSync(join(kernel.modulesDir, rel), join(stageModules, rel));
    }
    for (const f of ['modules.builtin', 'modules.order', 'modules.builtin.modinfo']) {
      copyFileSync(join(kernel.modulesDir, f), join(stageModules, f));
    }
    await run('depmod', ['-b', stage, kernel.release], { ...ctx });
    for (const file of walk(stageModules)) {
      // Binary indexes (*.bin) are for kmod; BusyBox's modprobe reads the text files.
      if (file.endsWith('.bin') || file.endsWith('.modinfo')) continue;
      manifest.addHostFile(join('lib/modules', kernel.release, relative(stageModules, file)), file, 0o644);
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return { count: files.length, missing };
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}
