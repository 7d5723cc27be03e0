/**
 * Cross-field rules of the network, proxy and TLS settings (README, "Network", "HTTPS").
 * Called from rules.ts on a config that passed the schema.
 */
import type { ConfigProblem } from '../errors.js';
import type { Locate } from './rules.js';
import { ARTIFACT_FIELDS, artifactUrls, type Config, type Entry } from './schema.js';

/** Every URL an entry may download from, mirror groups expanded. */
export function entryUrls(e: Entry, mirrors: Config['mirrors']): string[] {
  return ARTIFACT_FIELDS.flatMap((f) => {
    const a = e[f];
    return a ? artifactUrls(a, mirrors) : [];
  });
}

export function networkRules(config: Config, file: string, locate: Locate): ConfigProblem[] {
  return [...gatewayInSubnet(config, file, locate), ...tlsVerifyRules(config, file, locate)];
}

function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function gatewayInSubnet(config: Config, file: string, locate: Locate): ConfigProblem[] {
  const net = config.network;
  if (net === undefined || net === 'dhcp' || net.gateway === undefined) return [];
  const [ip = '', prefixText = '32'] = net.address.split('/');
  const prefix = Number(prefixText);
  const size = 2 ** (32 - prefix);
  const base = Math.floor(ipv4ToNumber(ip) / size);
  if (Math.floor(ipv4ToNumber(net.gateway) / size) === base) return [];
  return [
    {
      file,
      line: locate(['network', 'gateway']),
      path: 'network.gateway',
      message: `${net.gateway} is not inside ${net.address}: the gateway must be on the same subnet as the address (or widen the prefix length)`,
    },
  ];
}

/**
 * The preboot decides per URL whether to check a certificate (etc/inetboot/tls/noverify_urls),
 * so an entry that opts out must have https:// URLs, and none of them may be shared with an
 * entry that checks.
 */
function tlsVerifyRules(config: Config, file: string, locate: Locate): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const verifiedBy = new Map<string, string>();
  for (const e of config.entries) {
    if (e.tls_verify !== false) for (const u of entryUrls(e, config.mirrors)) if (!verifiedBy.has(u)) verifiedBy.set(u, e.id);
  }
  config.entries.forEach((e, i) => {
    if (e.tls_verify !== false) return;
    const where = { file, line: locate(['entries', i, 'tls_verify']), path: `entries[${i}].tls_verify` };
    const urls = entryUrls(e, config.mirrors);
    if (!urls.some((u) => u.startsWith('https://'))) {
      problems.push({ ...where, message: `has no effect: entry "${e.id}" downloads nothing over https://; remove "tls_verify: false"` });
      return;
    }
    const shared = urls.find((u) => verifiedBy.has(u));
    if (shared !== undefined) {
      problems.push({
        ...where,
        message: `entry "${verifiedBy.get(shared)}" also downloads ${shared} and checks its certificate: the preboot decides per URL, so give both entries the same tls_verify, or different URLs`,
      });
    }
  });
  return problems;
}
