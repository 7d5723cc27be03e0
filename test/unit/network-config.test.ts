/** network:, proxy:, pass_network:, tls: and entries[].tls_verify: messages and the data files they bake in. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { UsageError } from '../../src/errors.js';
import { needsTls, networkDataFiles, readCaBundle } from '../../src/pipeline/preboot/network.js';
import { parseSize } from '../../src/pipeline/cache-disk.js';
import { problems } from '../helpers/config.js';
import { testTempDir } from '../helpers/temp.js';

const HTTPS_ENTRY = 'entries:\n  - id: d\n    title: D\n    kernel: https://10.0.2.2:8443/linux\n';

/** The UsageError fn throws, as "message | hint". */
function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    const e = err as UsageError;
    return e.hint === undefined ? e.message : `${e.message} | ${e.hint}`;
  }
  throw new Error('expected a UsageError');
}


describe('network: accepted forms', () => {
  test('the default is DHCP, and nothing else is baked in', () => {
    const { config } = parseConfig('entries:\n  - id: d\n    title: D\n    kernel: http://10.0.2.2:8080/linux\n', 'ib.yaml');
    expect(config.network).toBeUndefined();
    expect(config.pass_network).toBeUndefined();
    expect(config.entries[0]!.tls_verify).toBeUndefined();
    expect(Object.fromEntries(networkDataFiles(config))).toEqual({ 'etc/inetboot/net/mode': 'dhcp' });
    expect(needsTls(config)).toBe(false);
  });

  test('static setting, proxy, pass_network and tls_verify: false become one file per value', () => {
    const { config } = parseConfig(
      `network:
  address: 10.0.2.15/24
  gateway: 10.0.2.2
  dns: [10.0.2.3, 10.0.2.4]
  interface: eth1
proxy: http://10.0.2.2:3128
pass_network: true
entries:
  - id: a
    title: A
    kernel: https://10.0.2.2:8443/linux
    initrd: {urls: [https://10.0.2.2:8443/initrd, http://10.0.2.2:8080/initrd]}
    tls_verify: false
`,
      'ib.yaml',
    );
    expect(Object.fromEntries(networkDataFiles(config))).toEqual({
      'etc/inetboot/net/mode': 'static',
      'etc/inetboot/net/address': '10.0.2.15/24',
      'etc/inetboot/net/gateway': '10.0.2.2',
      'etc/inetboot/net/dns': '10.0.2.3\n10.0.2.4\n',
      'etc/inetboot/net/interface': 'eth1',
      'etc/inetboot/net/proxy': 'http://10.0.2.2:3128',
      'etc/inetboot/net/pass_network': 'yes',
      'etc/inetboot/tls/noverify_urls': 'https://10.0.2.2:8443/linux\nhttps://10.0.2.2:8443/initrd\nhttp://10.0.2.2:8080/initrd\n',
    });
    expect(needsTls(config)).toBe(true);
  });

  test('network: dhcp written out is the default', () => {
    expect(parseConfig(`network: dhcp\n${HTTPS_ENTRY}`, 'ib.yaml').config.network).toBe('dhcp');
  });

  test('tls: alone makes the preboot carry openssl, even with http:// URLs only', () => {
    const { config } = parseConfig('tls:\n  ca_bundle: /etc/ssl/certs/ca-certificates.crt\nentries:\n  - id: d\n    title: D\n    kernel: http://10.0.2.2:8080/linux\n', 'ib.yaml');
    expect(needsTls(config)).toBe(true);
  });
});

describe('network: messages', () => {
  test.each([
    ['network: static\n', 'ib.yaml:1: network: must be dhcp, or a mapping {address: 10.0.2.15/24, gateway: 10.0.2.2, dns: [10.0.2.3]}'],
    ['network:\n  address: 10.0.2.15\n', 'ib.yaml:2: network.address: "10.0.2.15" is not an IPv4 address with a prefix length: write e.g. address: 10.0.2.15/24'],
    ['network:\n  address: 10.0.2.15/33\n', 'ib.yaml:2: network.address: "10.0.2.15/33" is not an IPv4 address with a prefix length: write e.g. address: 10.0.2.15/24'],
    ['network:\n  address: 10.0.2.15/24\n  gateway: 10.0.3.1\n', 'ib.yaml:3: network.gateway: 10.0.3.1 is not inside 10.0.2.15/24: the gateway must be on the same subnet as the address (or widen the prefix length)'],
    ['network:\n  address: 10.0.2.15/24\n  gateway: 10.0.2.256\n', 'ib.yaml:3: network.gateway: must be an IPv4 address such as gateway: 10.0.2.2'],
    ['network:\n  address: 10.0.2.15/24\n  dns: 10.0.2.3\n', 'ib.yaml:3: network.dns: is a string: must be a list of IPv4 addresses of name servers, e.g. dns: [10.0.2.3]'],
    ['network:\n  address: 10.0.2.15/24\n  dns: [10.0.2.3, 010.0.2.4]\n', 'ib.yaml:3: network.dns[1]: must be an IPv4 address such as 10.0.2.3'],
    ['network:\n  address: 10.0.2.15/24\n  dns: [1.1.1.1, 1.1.1.2, 1.1.1.3, 1.1.1.4]\n', 'ib.yaml:3: network.dns: lists more than 3 name servers: the resolver reads only the first 3'],
    ['network:\n  address: 10.0.2.15/24\n  interface: "eth 0"\n', 'ib.yaml:3: network.interface: must be a Linux interface name (letters, digits, ".", "_", "-"; at most 15 characters), e.g. eth0'],
    ['proxy: https://10.0.2.2:3128\n', 'ib.yaml:1: proxy: must be an http:// URL of the proxy, e.g. proxy: http://10.0.2.2:3128 (BusyBox wget talks to proxies in plain HTTP)'],
    ['proxy: http://u:p@10.0.2.2:3128\n', 'ib.yaml:1: proxy: must not contain a user name or password ("u:p@"): they would be baked into the boot medium and printed on its console; serve the files without a login'],
    ['proxy: http://10.0.2.2:3128/x\n', 'ib.yaml:1: proxy: must be only scheme, host and port, e.g. proxy: http://10.0.2.2:3128 (write http://10.0.2.2:3128)'],
    ['pass_network: yes\n', "ib.yaml:1: pass_network: is a string: must be true or false (true: the target kernel gets the preboot's address as ip=...)"],
    ['tls:\n  ca_bundle: ca.pem\n', 'ib.yaml:2: tls.ca_bundle: must be an absolute path of a PEM file of CA certificates, e.g. ca_bundle: /etc/inetboot/my-ca.pem'],
    ['tls:\n  ca: /x.pem\n', 'ib.yaml:2: tls.ca: unknown key "ca": allowed keys are ca_bundle'],
  ])('%j', (top, message) => {
    expect(problems(`${top}${HTTPS_ENTRY}`)).toEqual([message]);
  });

  test('a misspelt key of network: names the allowed ones', () => {
    expect(problems(`network:\n  addres: 10.0.2.15/24\n${HTTPS_ENTRY}`)).toContain(
      'ib.yaml:2: network.addres: unknown key "addres": allowed keys are address, gateway, dns, interface (did you mean "address"?)',
    );
  });

  test('tls_verify must be a boolean', () => {
    expect(problems(`${HTTPS_ENTRY}    tls_verify: no\n`)).toEqual([
      "ib.yaml:5: entries[0].tls_verify: is a string: must be true or false (false: do not check the HTTPS certificate of this entry's servers)",
    ]);
  });

  test('tls_verify: false on an entry without https:// URLs has no effect, and says so', () => {
    expect(problems('entries:\n  - id: d\n    title: D\n    kernel: http://10.0.2.2:8080/linux\n    tls_verify: false\n')).toEqual([
      'ib.yaml:5: entries[0].tls_verify: has no effect: entry "d" downloads nothing over https://; remove "tls_verify: false"',
    ]);
  });

  test('an opted-out URL shared with a checking entry is refused', () => {
    const text = `entries:
  - id: a
    title: A
    kernel: https://10.0.2.2:8443/linux
  - id: b
    title: B
    kernel: https://10.0.2.2:8443/linux
    tls_verify: false
`;
    expect(problems(text)).toEqual([
      'ib.yaml:8: entries[1].tls_verify: entry "a" also downloads https://10.0.2.2:8443/linux and checks its certificate: the preboot decides per URL, so give both entries the same tls_verify, or different URLs',
    ]);
  });
});

describe('tls.ca_bundle at build time', () => {
  const dir = testTempDir('inetboot-ca-');
  const config = (path: string) => parseConfig(`tls:\n  ca_bundle: ${path}\n${HTTPS_ENTRY}`, 'ib.yaml').config;

  test('a missing file is a usage error naming it', () => {
    expect(usageError(() => readCaBundle(config(join(dir, 'none.pem'))))).toBe(
      `tls.ca_bundle: ${join(dir, 'none.pem')} does not exist: name a PEM file of CA certificates | or remove tls.ca_bundle to trust Debian's CAs`,
    );
  });

  test('a file without a PEM certificate is refused', () => {
    writeFileSync(join(dir, 'empty.pem'), 'not a certificate\n');
    expect(usageError(() => readCaBundle(config(join(dir, 'empty.pem'))))).toBe(
      `tls.ca_bundle: ${join(dir, 'empty.pem')} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" block) | or remove tls.ca_bundle to trust Debian's CAs`,
    );
  });
});

describe('make-cache-disk --size', () => {
  test.each([
    ['1G', 1024 ** 3],
    ['512M', 512 * 1024 ** 2],
    ['64MiB', 64 * 1024 ** 2],
    ['4096K', 4096 * 1024],
    ['2097152', 2097152],
  ])('%s', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  test.each([
    ['1M', '--size 1M: at least 2M'],
    ['3T', '--size 3T: at most 2T'],
    ['1.5G', '--size 1.5G: write a size such as 64M, 1G or 1073741824 (bytes)'],
    ['2097153', '--size 2097153: must be a whole number of KiB'],
  ])('%s is refused', (text, message) => expect(usageError(() => parseSize(text))).toBe(message));
});
