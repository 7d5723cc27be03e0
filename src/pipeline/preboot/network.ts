/**
 * The preboot's network, proxy and TLS settings, baked in as data files the init reads with
 * `read -r` (lib/inetboot/net.sh, http.sh), and openssl with a CA bundle when the config needs
 * HTTPS. Files (one value per line; absent when the value is absent):
 *   etc/inetboot/net/mode            dhcp | static
 *   etc/inetboot/net/address         10.0.2.15/24            (static)
 *   etc/inetboot/net/gateway         10.0.2.2                (static, optional)
 *   etc/inetboot/net/dns             one name server per line (static, optional)
 *   etc/inetboot/net/interface       eth0                    (static, optional)
 *   etc/inetboot/net/proxy           http://10.0.2.2:3128
 *   etc/inetboot/net/pass_network    yes
 *   etc/inetboot/tls/ca.pem          the CA certificates openssl trusts
 *   etc/inetboot/tls/noverify_urls   every URL of the entries with tls_verify: false, one per line
 */
import { readCaBundleFile } from '../../config/host-files.js';
import { entryUrls } from '../../config/network-rules.js';
import type { Config } from '../../config/schema.js';
import { MissingToolError, UsageError } from '../../errors.js';
import type { RunCtx } from '../../exec/run.js';
import { findProgram } from '../../exec/tools.js';
import type { Manifest } from '../manifest.js';
import { addProgramWithLibraries } from './userland.js';

export const NET_DATA_DIR = 'etc/inetboot/net';
export const TLS_DATA_DIR = 'etc/inetboot/tls';
/** Debian's ca-certificates bundle: every CA Debian trusts, in one PEM file. */
export const DEBIAN_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** Every https:// URL of the config: the entries' sources and the mirror groups' base URLs. */
export function httpsUrls(config: Config): string[] {
  const urls = [...config.entries.flatMap((e) => entryUrls(e, config.mirrors)), ...Object.values(config.mirrors ?? {}).flat()];
  return urls.filter((u) => u.startsWith('https://'));
}

/** True when the preboot must carry openssl and a CA bundle: an https:// URL or a tls: setting. */
export function needsTls(config: Config): boolean {
  return config.tls !== undefined || httpsUrls(config).length > 0;
}

export function networkDataFiles(config: Config): Map<string, string> {
  const files = new Map<string, string>();
  const net = config.network;
  if (net === undefined || net === 'dhcp') {
    files.set(`${NET_DATA_DIR}/mode`, 'dhcp');
  } else {
    files.set(`${NET_DATA_DIR}/mode`, 'static');
    files.set(`${NET_DATA_DIR}/address`, net.address);
    if (net.gateway !== undefined) files.set(`${NET_DATA_DIR}/gateway`, net.gateway);
    if (net.dns !== undefined && net.dns.length > 0) files.set(`${NET_DATA_DIR}/dns`, net.dns.map((d) => `${d}\n`).join(''));
    if (net.interface !== undefined) files.set(`${NET_DATA_DIR}/interface`, net.interface);
  }
  if (config.proxy !== undefined) files.set(`${NET_DATA_DIR}/proxy`, config.proxy);
  if (config.pass_network) files.set(`${NET_DATA_DIR}/pass_network`, 'yes');
  const noVerify = [...new Set(config.entries.filter((e) => e.tls_verify === false).flatMap((e) => entryUrls(e, config.mirrors)))];
  if (noVerify.length > 0) files.set(`${TLS_DATA_DIR}/noverify_urls`, noVerify.map((u) => `${u}\n`).join(''));
  return files;
}

/**
 * The CA bundle's text: the config's tls.ca_bundle (checked when the config was loaded, read
 * again the same way here), else Debian's.
 */
export function readCaBundle(config: Config): string {
  const path = config.tls?.ca_bundle ?? DEBIAN_CA_BUNDLE;
  const r = readCaBundleFile(path);
  if (r.ok) return r.text;
  if (config.tls?.ca_bundle === undefined) {
    throw new MissingToolError([{ name: DEBIAN_CA_BUNDLE, pkg: 'ca-certificates', reason: `the CA certificates the preboot checks HTTPS servers against (${r.message})` }]);
  }
  throw new UsageError(`tls.ca_bundle: ${r.message}`, { hint: 'or remove tls.ca_bundle to trust Debian\'s CAs' });
}

/**
 * The data files, and the CA bundle when HTTPS is needed, without any program: for a preboot
 * whose root file system brings its own openssl (the Buildroot backend).
 */
export function addNetworkFiles(manifest: Manifest, config: Config): { tls: boolean } {
  for (const [path, value] of networkDataFiles(config)) manifest.addFile(path, value, 0o644);
  if (!needsTls(config)) return { tls: false };
  manifest.addFile(`${TLS_DATA_DIR}/ca.pem`, readCaBundle(config), 0o644);
  return { tls: true };
}

/** The data files plus the host's openssl and its libraries when HTTPS is needed. */
export async function addNetworkData(manifest: Manifest, config: Config, ctx: RunCtx = {}): Promise<{ tls: boolean }> {
  const { tls } = addNetworkFiles(manifest, config);
  if (!tls) return { tls };
  const openssl = findProgram('openssl');
  if (!openssl) throw new MissingToolError([{ name: 'openssl', pkg: 'openssl', reason: 'copied into the preboot: BusyBox wget checks HTTPS certificates only through openssl s_client' }]);
  // /usr/libexec/inetboot/openssl (the wrapper wget finds first) runs exactly this path.
  await addProgramWithLibraries(manifest, 'usr/bin/openssl', openssl, ctx);
  return { tls };
}
