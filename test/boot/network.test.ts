/**
 * Network options of the preboot (lib/inetboot/net.sh, http.sh): a static IPv4 setting from the
 * config, ip= typed at GRUB, a name in the URLs resolved by the configured name server, an HTTP
 * proxy, and pass_network: handing the preboot's address to the target as ip=. QEMU user
 * networking; every server listens on 127.0.0.1 (the guest's 10.0.2.2): nginx, dnsmasq knowing
 * only *.inetboot.test, tinyproxy forwarding only to 127.0.0.1. Console logs under
 * test-output/network/.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPreboot, bootScenario, type BuiltPreboot, serveTarget } from '../helpers/preboot.js';
import type { NginxServer } from '../helpers/nginx.js';
import { startDnsmasq, startTinyproxy, type Service } from '../helpers/netservers.js';
import { freePort } from '../helpers/ports.js';
import { TARGET_MARKER, targetLine } from '../helpers/target.js';
import { scaled } from '../helpers/timeouts.js';

const DIR = 'network';
let nginx: NginxServer;
let dns: Service;
let proxy: Service;
let staticPreboot: BuiltPreboot;
let proxyPreboot: BuiltPreboot;

beforeAll(async () => {
  nginx = (await serveTarget(DIR)).nginx;
  dns = await startDnsmasq({ name: `${DIR}-dnsmasq` });
  proxy = await startTinyproxy({ name: `${DIR}-tinyproxy`, port: await freePort() });
  // By name: only the configured name server (dnsmasq behind 10.0.2.2) knows files.inetboot.test.
  const byName = (p: string) => `http://files.inetboot.test:${nginx.port}/${p}`;
  staticPreboot = await buildPreboot(`${DIR}-static`, {
    network: { address: '10.0.2.42/24', gateway: '10.0.2.2', dns: ['10.0.2.2'] },
    pass_network: true,
    entries: [
      { id: 'named', title: 'Target by name', kernel: byName('vmlinuz'), initrd: byName('target.img'), append: 'console=ttyS0 net=1' },
      // Words after "--" are init's arguments: the ip= that pass_network adds must go before them.
      { id: 'initargs', title: 'Target with init arguments', kernel: byName('vmlinuz'), initrd: byName('target.img'), append: 'console=ttyS0 net=1 -- inetboot-init-arg' },
    ],
  });
  // 127.0.0.1 inside the guest is the guest itself: only the proxy (on the host) can reach it.
  const viaProxy = (p: string) => `http://127.0.0.1:${nginx.port}/${p}`;
  proxyPreboot = await buildPreboot(`${DIR}-proxy`, {
    proxy: `http://10.0.2.2:${proxy.port}`,
    pass_network: true,
    entries: [{ id: 'proxied', title: 'Target through the proxy', kernel: viaProxy('vmlinuz'), initrd: viaProxy('target.img'), append: 'console=ttyS0 proxied=1' }],
  });
}, scaled(600_000));

afterAll(async () => {
  await nginx?.stop();
  await dns?.stop();
  await proxy?.stop();
});

describe('network options', () => {
  it('static IPv4 from the config, a DNS name in the URLs, and pass_network hands ip= to the target', async () => {
    const r = await bootScenario({ preboot: staticPreboot, dir: DIR, name: 'static-config-dns', entry: 'named', expect: TARGET_MARKER });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain('inetboot: network: eth0 has address 10.0.2.42/24 (static, from the config), gateway 10.0.2.2, dns 10.0.2.2');
    expect(r.log).not.toContain('DHCP on');
    expect(r.log).toContain(`inetboot: downloading http://files.inetboot.test:${nginx.port}/vmlinuz`);
    expect(dns.readLog()).toMatch(/query\[A\] files\.inetboot\.test from 127\.0\.0\.1/);
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 net=1 ip=10.0.2.42::10.0.2.2:255.255.255.0:::off:10.0.2.2');
  }, scaled(300_000));

  it('pass_network puts ip= before a "--" of the entry: the kernel reads it, init gets only its own arguments', async () => {
    const r = await bootScenario({ preboot: staticPreboot, dir: DIR, name: 'ip-before-init-args', entry: 'initargs', expect: TARGET_MARKER });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain('inetboot: loading kernel with command line: console=ttyS0 net=1 ip=10.0.2.42::10.0.2.2:255.255.255.0:::off:10.0.2.2 -- inetboot-init-arg');
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 net=1 ip=10.0.2.42::10.0.2.2:255.255.255.0:::off:10.0.2.2 -- inetboot-init-arg');
    expect(targetLine(r.log, 'TARGET-INIT-ARGS')).toBe('inetboot-init-arg');
  }, scaled(300_000));

  it('ip= typed at GRUB overrides the config', async () => {
    const r = await bootScenario({
      preboot: staticPreboot, dir: DIR, name: 'ip-typed', entry: 'named', expect: TARGET_MARKER,
      extraCmdline: 'ip=10.0.2.43::10.0.2.2:255.255.255.0::eth0:off:10.0.2.2',
    });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain('inetboot: network: eth0 has address 10.0.2.43/24 (static, from ip= on the command line), gateway 10.0.2.2, dns 10.0.2.2');
    // The target's own command line already names no ip=, so it gets the preboot's (typed) one.
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 net=1 ip=10.0.2.43::10.0.2.2:255.255.255.0:::off:10.0.2.2');
  }, scaled(300_000));

  it('a malformed ip= stops the boot and says what to write', async () => {
    const r = await bootScenario({
      preboot: staticPreboot, dir: DIR, name: 'ip-malformed', entry: 'named', expect: 'boot stopped', failOn: [TARGET_MARKER],
      extraCmdline: 'ip=10.0.2.300::10.0.2.2:255.255.255.0',
    });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain("inetboot: ERROR: ip=10.0.2.300::10.0.2.2:255.255.255.0: '10.0.2.300' is not an IPv4 address");
  }, scaled(300_000));

  it('downloads go through the configured HTTP proxy (tinyproxy); DHCP address handed on', async () => {
    const r = await bootScenario({ preboot: proxyPreboot, dir: DIR, name: 'proxy', entry: 'proxied', expect: TARGET_MARKER });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain(`inetboot: network: downloads go through the proxy http://10.0.2.2:${proxy.port} (from the config)`);
    const log = readFileSync(proxy.log, 'utf8');
    expect(log).toContain(`GET http://127.0.0.1:${nginx.port}/vmlinuz`);
    expect(log).toContain(`GET http://127.0.0.1:${nginx.port}/target.img`);
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 proxied=1 ip=10.0.2.15::10.0.2.2:255.255.255.0:::off:10.0.2.3');
  }, scaled(300_000));

  it('DHCP asks every NIC at once: the first (on a hub with no DHCP server) does not hold up the second', async () => {
    const r = await bootScenario({
      preboot: proxyPreboot, dir: DIR, name: 'dhcp-two-nics', entry: 'proxied', expect: TARGET_MARKER,
      network: [
        '-netdev', 'hubport,id=dead,hubid=0', '-device', 'virtio-net-pci,netdev=dead',
        '-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0',
      ],
    });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain('inetboot: DHCP on eth0 eth1 ...');
    expect(r.log).toContain('inetboot: network: eth1 has address 10.0.2.15/24');
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 proxied=1 ip=10.0.2.15::10.0.2.2:255.255.255.0:::off:10.0.2.3');
  }, scaled(300_000));
});
