/**
 * The command lines a target really gets, checked against the limits of what reads them.
 * `append` alone is checked by the schema (2047 bytes); here is what is added to it:
 *   - kernel and root entries: with pass_network: true the preboot adds " ip=..." (lib/inetboot/net.sh
 *     net_target_cmdline) unless append has a kernel parameter ip= of its own; the kernel's
 *     limit is 2047 bytes (COMMAND_LINE_SIZE 2048 with the NUL on x86).
 *   - xen entries: Xen copies dom0's command line into a buffer of MAX_GUEST_CMDLINE (1024,
 *     xen/include/public/xen.h) bytes and silently cuts what does not fit, after appending what
 *     follows " -- " in its own command line and, by its own decision, " noapic" and
 *     " acpi=VALUE" (VALUE at most 9 characters): xen/arch/x86/setup.c create_dom0(). The
 *     preboot adds no ip= to dom0.
 */
import type { ConfigProblem } from '../errors.js';
import { kernelParamsOf } from '../quote.js';
import type { Locate } from './rules.js';
import { entryKind, MAX_CMDLINE, type Config } from './schema.js';

/** What net_target_cmdline writes: ip=ADDRESS::GATEWAY:NETMASK:::off[:DNS0[:DNS1]]. */
export function ipParam(n: { address: string; gateway?: string; netmask: string; dns?: readonly string[] }): string {
  const [dns0, dns1] = n.dns ?? [];
  return `ip=${n.address}::${n.gateway ?? ''}:${n.netmask}:::off${dns0 ? `:${dns0}` : ''}${dns1 ? `:${dns1}` : ''}`;
}

const WIDEST = '255.255.255.255';
/** The longest " ip=..." pass_network can add: every field the widest dotted quad. */
export const MAX_PASS_NETWORK_BYTES = 1 + ipParam({ address: WIDEST, gateway: WIDEST, netmask: WIDEST, dns: [WIDEST, WIDEST] }).length;

/** Xen's dom0 command line buffer, NUL included (MAX_GUEST_CMDLINE). */
export const XEN_DOM0_CMDLINE_MAX = 1023;
/** What Xen itself may append to dom0's command line: " noapic" and " acpi=" + 9 characters. */
export const XEN_DOM0_ADDS_BYTES = ' noapic'.length + ' acpi='.length + 9;

/** What Xen appends to dom0's command line from its own: the words after " -- ", one space first. */
export function xenKextra(hypervisorAppend: string): string {
  const cooked = hypervisorAppend.replace(/^ +/, '');
  const at = cooked.indexOf(' -- ');
  return at < 0 ? '' : ` ${cooked.slice(at + 4).replace(/^ +/, '')}`;
}

export function cmdlineRules(config: Config, file: string, locate: Locate): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.entries.forEach((e, i) => {
    const kind = entryKind(e);
    const bytes = Buffer.byteLength(e.append);
    const at = { file, line: locate(['entries', i, 'append']), path: `entries[${i}].append` };
    if ((kind === 'kernel' || kind === 'root') && config.pass_network && !kernelParamsOf(e.append).some(([k]) => k === 'ip')) {
      const total = bytes + MAX_PASS_NETWORK_BYTES;
      if (total > MAX_CMDLINE) {
        problems.push({
          ...at,
          message: `is ${bytes} bytes, and pass_network: true adds " ip=..." (up to ${MAX_PASS_NETWORK_BYTES} bytes): the target's command line could be ${total} bytes, more than the kernel's ${MAX_CMDLINE}; shorten append to ${MAX_CMDLINE - MAX_PASS_NETWORK_BYTES} bytes, or write an ip= of your own`,
        });
      }
    }
    if (kind === 'xen') {
      const kextra = Buffer.byteLength(xenKextra(e.hypervisor_append ?? ''));
      const room = XEN_DOM0_CMDLINE_MAX - XEN_DOM0_ADDS_BYTES - kextra;
      if (bytes > room) {
        const from = kextra > 0 ? `, the ${kextra} bytes after " -- " in hypervisor_append,` : '';
        problems.push({
          ...at,
          message: `is ${bytes} bytes: Xen gives dom0 at most ${XEN_DOM0_CMDLINE_MAX} bytes of command line for append${from} and what Xen adds itself (" noapic", " acpi=...": up to ${XEN_DOM0_ADDS_BYTES} bytes), and silently cuts off the rest; shorten append to ${room} bytes`,
        });
      }
    }
  });
  return problems;
}
