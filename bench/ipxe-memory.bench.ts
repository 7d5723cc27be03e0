/**
 * The smallest memory that boots Debian 12's network installer, through iPXE and through
 * inetboot's preboots (issue 11, item 1; `bash scripts/bench.sh ipxe --memory`). The installer
 * is Debian's own, unmodified: the text-mode kernel and initrd (about 40 MB) of the
 * `debian-installer-12-netboot-amd64` package, fetched with apt-get download into inetboot's
 * cache and served by nginx on 127.0.0.1. The media are those of bench/ipxe-media.ts; BIOS.
 *
 * A boot succeeds when the installer draws its first screen on ttyS0: newt's help line
 * ("<Tab> moves; <Space> selects; <Enter> activates buttons") is on every cdebconf screen, the
 * language list or, in the installer's low-memory modes, the "Entering low memory mode" note.
 * It fails on the installer's own "Insufficient memory" error (below the minimum its
 * S15lowmem sets for amd64: 316 MB of MemTotal, "qemu: -m 350" in its comment), a panic, an
 * error of the preboot or of iPXE, or no screen in TIMEOUT_S. For each way a binary search
 * over -m, in STEP_MIB steps between LOW_MIB and HIGH_MIB, finds the smallest that succeeds
 * (HIGH_MIB is booted first: if it fails, the way has no figure).
 *
 * Not a test: it asserts nothing. It writes test-output/bench/ipxe-memory.{md,json} and every
 * console log (ipxe-memory-WAY-MMIB.console.log).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { INSTALLER_SCREEN, stageInstaller } from '../src/demo/installer.js';
import { defaultCacheDir } from '../src/paths.js';
import { fetchDebianPackage } from '../src/pipeline/preboot/kernel-package.js';
import { bootAndWatch } from '../src/qemu/boot.js';
import { startNginx } from '../test/helpers/nginx.js';
import { outputDir } from '../test/helpers/paths.js';
import { IPXE_PACKAGE, WAY_TITLE, wayIso, waysFromEnv, type Target, type Way } from './ipxe-media.js';

const OUT = outputDir('bench');
const LOW_MIB = 128;
const HIGH_MIB = 1024;
const STEP_MIB = 8;
const TIMEOUT_S = 150;
const WAYS: Way[] = waysFromEnv();

interface Probe {
  memoryMiB: number;
  ok: boolean;
  seconds: number;
  why: string;
  log: string;
}

it("the smallest -m that reaches the Debian installer's first screen: iPXE and inetboot", async () => {
  const www = join(OUT, 'ipxe-memory-www');
  rmSync(www, { recursive: true, force: true });
  const installer = await stageInstaller(www, defaultCacheDir());
  const installerVersion = installer.version;
  const ipxePkg = await fetchDebianPackage(IPXE_PACKAGE, defaultCacheDir());
  const initrd = readFileSync(installer.initrd.file);

  const nginx = await startNginx({ root: www, name: 'bench-ipxe-memory-nginx' });
  try {
    const base = nginx.baseUrlForGuest;
    const t: Target = {
      kernelUrl: `${base}/linux`,
      kernelSha256: installer.kernel.sha256,
      initrdUrl: `${base}/initrd.gz`,
      initrdSha256: installer.initrd.sha256,
      append: 'console=ttyS0',
    };
    const results: { way: Way; smallest_mib: number | null; probes: Probe[] }[] = [];
    for (const way of WAYS) {
      const iso = join(OUT, `ipxe-memory-${way}.iso`);
      await wayIso(way, ipxePkg, t, iso);
      const probes: Probe[] = [];
      const probe = async (memoryMiB: number): Promise<boolean> => {
        const log = join(OUT, `ipxe-memory-${way}-${memoryMiB}m.console.log`);
        const r = await bootAndWatch({
          iso,
          expect: INSTALLER_SCREEN,
          failOn: ['Insufficient memory', 'Kernel panic', 'inetboot: ERROR', '(http://ipxe.org/', 'Out of memory'],
          timeoutMs: TIMEOUT_S * 1000,
          logFile: log,
          memoryMiB,
        });
        const why = r.ok ? 'first screen' : r.reason === 'fail-text' ? `"${r.matched}"` : r.reason;
        probes.push({ memoryMiB, ok: r.ok, seconds: r.elapsedMs / 1000, why, log });
        console.log(`${way} -m ${memoryMiB}: ${r.ok ? 'boots' : `fails (${why})`} after ${(r.elapsedMs / 1000).toFixed(1)} s`);
        return r.ok;
      };
      let smallest: number | null = null;
      if (await probe(HIGH_MIB)) {
        // Invariant: hi boots; lo does not (LOW_MIB is taken as failing without a boot).
        let lo = LOW_MIB;
        let hi = HIGH_MIB;
        while (hi - lo > STEP_MIB) {
          const mid = lo + Math.floor((hi - lo) / 2 / STEP_MIB) * STEP_MIB;
          if (await probe(mid)) hi = mid;
          else lo = mid;
        }
        smallest = hi;
      }
      results.push({ way, smallest_mib: smallest, probes });
    }

    const ipxe = results.find((r) => r.way === 'ipxe')?.smallest_mib ?? null;
    const report = {
      installer: installerVersion,
      initrd_bytes: initrd.length,
      screen: INSTALLER_SCREEN,
      search: { low_mib: LOW_MIB, high_mib: HIGH_MIB, step_mib: STEP_MIB, timeout_s: TIMEOUT_S },
      results,
    };
    writeFileSync(join(OUT, 'ipxe-memory.json'), `${JSON.stringify(report, null, 2)}\n`);
    const md = [
      `## The smallest -m that reaches the Debian installer's first screen (${installerVersion}, text initrd ${(initrd.length / 1e6).toFixed(1)} MB; BIOS; ${STEP_MIB} MiB steps)`,
      '',
      '| way | smallest -m (MiB) | / iPXE | boots tried (MiB: result) |',
      '|---|---:|---:|---|',
      ...results.map(
        (r) =>
          `| ${WAY_TITLE[r.way]} | ${r.smallest_mib ?? `none up to ${HIGH_MIB}`} | ${r.smallest_mib !== null && ipxe ? `${(r.smallest_mib / ipxe).toFixed(2)}x` : '-'} | ${r.probes.map((p) => `${p.memoryMiB}: ${p.ok ? 'ok' : p.why}`).join(', ')} |`,
      ),
      '',
      "The installer's own minimum for amd64 is 316 MB of MemTotal (its S15lowmem; below it, it says \"Insufficient memory\").",
      '(Console logs: test-output/bench/ipxe-memory-WAY-MMIB.console.log.)',
    ];
    writeFileSync(join(OUT, 'ipxe-memory.md'), `${md.join('\n')}\n`);
    console.log(md.join('\n'));
  } finally {
    await nginx.stop();
  }
}, 14_400_000);
