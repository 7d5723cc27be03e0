/**
 * Preboot scenarios booted directly (see test/helpers/preboot.ts), each with its console log
 * under test-output/preboot/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPreboot, bootScenario, type BuiltPreboot, serveTarget } from '../helpers/preboot.js';
import type { NginxServer } from '../helpers/nginx.js';
import { TARGET_MARKER, targetLine } from '../helpers/target.js';
import { scaled } from '../helpers/timeouts.js';

const DIR = 'preboot';
let nginx: NginxServer;
let preboot: BuiltPreboot;

beforeAll(async () => {
  ({ nginx } = await serveTarget(DIR));
  const url = (p: string) => `${nginx.baseUrlForGuest}/${p}`;
  preboot = await buildPreboot(DIR, {
    entries: [
      { id: 'plain', title: 'Unpinned target', kernel: url('vmlinuz'), initrd: url('target.img'), append: 'console=ttyS0 plain=1' },
      { id: 'missing', title: 'Kernel that is not there', kernel: url('no-such-kernel'), initrd: url('target.img') },
    ],
  });
}, scaled(600_000));

afterAll(async () => {
  await nginx?.stop();
});

describe('preboot scenarios', () => {
  it('boots the entry named by ib.entry= on the command line, not the default', async () => {
    const r = await bootScenario({ preboot, dir: DIR, name: 'ib-entry', entry: 'plain', expect: TARGET_MARKER });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain('inetboot: WARNING: no sha256 pinned for');
    expect(targetLine(r.log, 'TARGET-CMDLINE')).toBe('console=ttyS0 plain=1');
  }, scaled(240_000));

  it('HTTP 404: says which URL failed and stops without kexec', async () => {
    const r = await bootScenario({ preboot, dir: DIR, name: 'http-404', entry: 'missing', expect: 'boot stopped', failOn: [TARGET_MARKER] });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain(`inetboot: ERROR: download failed: ${nginx.baseUrlForGuest}/no-such-kernel`);
    expect(r.log).toMatch(/404 Not Found/);
    expect(r.log).not.toContain('loading kernel with command line');
  }, scaled(240_000));

  it('no network card: says so and stops', async () => {
    const r = await bootScenario({ preboot, dir: DIR, name: 'no-nic', entry: 'plain', expect: 'boot stopped', network: ['-nic', 'none'] });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain('inetboot: ERROR: no network interface found');
  }, scaled(240_000));

  it('no DHCP lease: names the interfaces and stops', async () => {
    // A NIC on an empty hub: link up, nobody answers DHCP.
    const r = await bootScenario({
      preboot, dir: DIR, name: 'no-dhcp', entry: 'plain', expect: 'boot stopped',
      network: ['-netdev', 'hubport,id=n0,hubid=0', '-device', 'virtio-net-pci,netdev=n0'],
    });
    expect(r.ok, r.lastLines.join('\n')).toBe(true);
    expect(r.log).toContain('inetboot: ERROR: no DHCP lease on any interface (eth0)');
  }, scaled(240_000));
});
