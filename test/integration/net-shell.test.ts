/**
 * The pure helpers of lib/inetboot/net.sh run by the host's BusyBox sh: address checks, netmask
 * arithmetic (BusyBox awk has no "^"), and the ip= that pass_network: hands to the target.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prebootSh } from '../helpers/preboot-shell.js';
import { testTempDir } from '../helpers/temp.js';

/** Runs SCRIPT after sourcing common.sh and net.sh, with IB_RUN and IB_NET_DATA in a fresh directory. */
async function sh(script: string, setup: (dir: string) => void = () => {}): Promise<string> {
  const dir = testTempDir('inetboot-net-');
  mkdirSync(join(dir, 'run', 'net'), { recursive: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'cmdline'), '\n');
  setup(dir);
  const r = await prebootSh(`IB_RUN=$1/run; IB_NET_DATA=$1/data; IB_CMDLINE_FILE=$1/cmdline; ${script}`, { libs: ['console', 'common', 'net'], args: [dir] });
  return r.stdout;
}

describe('net.sh helpers (host BusyBox)', () => {
  it('ip4_valid accepts dotted quads only, without leading zeros', async () => {
    const out = await sh('for a in 10.0.2.15 255.255.255.255 10.0.2.256 10.02.2.1 1.2.3 1.2.3.4.5 a.b.c.d ""; do ip4_valid "$a" && echo "yes $a" || echo "no $a"; done');
    expect(out.split('\n')).toEqual(['yes 10.0.2.15', 'yes 255.255.255.255', 'no 10.0.2.256', 'no 10.02.2.1', 'no 1.2.3', 'no 1.2.3.4.5', 'no a.b.c.d', 'no ']);
  });

  it('mask_prefix and prefix_mask convert both ways; a mask with holes is refused', async () => {
    const out = await sh('for m in 255.255.255.0 255.255.254.0 0.0.0.0 24 255.0.255.0; do mask_prefix "$m" || echo bad; done; for p in 32 24 23 0; do prefix_mask "$p"; done');
    expect(out.split('\n')).toEqual(['24', '23', '0', '24', 'bad', '255.255.255.255', '255.255.255.0', '255.255.254.0', '0.0.0.0']);
  });

  it('net_proxy: ib.proxy= wins over http_proxy=, which wins over the config; none turns it off', async () => {
    const withCmdline = (cmdline: string) =>
      sh('net_proxy; cat "$IB_RUN/proxy" 2>/dev/null || echo "(no proxy file)"', (dir) => {
        writeFileSync(join(dir, 'cmdline'), `${cmdline}\n`);
        writeFileSync(join(dir, 'data/proxy'), 'http://10.0.2.2:3128');
      }).then((out) => out.split('\n'));
    expect(await withCmdline('quiet')).toEqual(['inetboot: network: downloads go through the proxy http://10.0.2.2:3128 (from the config)', 'http://10.0.2.2:3128']);
    expect(await withCmdline('http_proxy=http://10.0.2.2:8888')).toEqual(['inetboot: network: downloads go through the proxy http://10.0.2.2:8888 (from http_proxy on the command line)', 'http://10.0.2.2:8888']);
    expect(await withCmdline('http_proxy=http://10.0.2.2:8888 ib.proxy=http://10.0.2.2:9999')).toEqual(['inetboot: network: downloads go through the proxy http://10.0.2.2:9999 (from ib.proxy on the command line)', 'http://10.0.2.2:9999']);
    expect(await withCmdline('ib.proxy=none')).toEqual(['inetboot: network: no proxy (ib.proxy=none)', '(no proxy file)']);
  });

  it('net_target_cmdline adds ip= only with pass_network and only when the target has none', async () => {
    const lease = (dir: string) => {
      writeFileSync(join(dir, 'run/net/address'), '10.0.2.15/24\n');
      writeFileSync(join(dir, 'run/net/gateway'), '10.0.2.2\n');
      writeFileSync(join(dir, 'run/net/dns'), '10.0.2.3\n10.0.2.4\n');
    };
    const on = (dir: string) => {
      lease(dir);
      writeFileSync(join(dir, 'data/pass_network'), 'yes');
    };
    expect(await sh('net_target_cmdline "console=ttyS0 quiet"', lease)).toBe('console=ttyS0 quiet');
    expect(await sh('net_target_cmdline "console=ttyS0 quiet"', on)).toBe('console=ttyS0 quiet ip=10.0.2.15::10.0.2.2:255.255.255.0:::off:10.0.2.3:10.0.2.4');
    expect(await sh('net_target_cmdline ""', on)).toBe('ip=10.0.2.15::10.0.2.2:255.255.255.0:::off:10.0.2.3:10.0.2.4');
    expect(await sh('net_target_cmdline "a=\\"x y\\" ip=dhcp"', on)).toBe('a="x y" ip=dhcp');
  });
});
