/**
 * What a 200 MB initrd costs inside the preboot, step by step (issue 11: where the 200 MB rows of
 * bench/ipxe.bench.ts go; run by `bash scripts/bench.sh preboot-steps`). An iscript entry
 * (bench/preboot-steps/steps.sh) downloads the Debian 12 target kernel of test/helpers/target.ts
 * and 200 MB of random bytes from nginx on 127.0.0.1 (the guest's 10.0.2.2), then times, with the
 * guest's own clock: the download and how idle the CPU was during it, the sha256 by BusyBox and by
 * the preboot's checker (preboot-tools/inetboot-sha256.c), and `kexec -l` of kernel and initrd
 * four ways (the first load, the same again, below 512 MiB, and through kexec_file_load); also
 * the download alone to /dev/null and the sha256 taken while downloading (a pipe, no file). Both
 * inetboot preboots (debian, tiny), BIOS and UEFI, on the QEMU machine of the iPXE bench (TCG,
 * one CPU, -m 1536), each on two kinds of RAM: as the iPXE bench runs QEMU ("lazy": the host
 * backs a page of guest RAM on the guest's first write to it, a page fault in the host, which
 * on this host is itself a virtual machine) and with QEMU's -mem-prealloc ("preallocated": all
 * of it backed before the guest starts, as a real machine's RAM is there). The difference is
 * what the host's lazy backing costs each step: every step that writes to memory the preboot
 * has not used before pays it. INETBOOT_BENCH_ROUNDS rounds (default 3), interleaved, medians;
 * INETBOOT_BENCH_WAYS and INETBOOT_BENCH_RAM (lazy, preallocated) take a subset.
 *
 * Not a test: it asserts nothing about speed. It writes test-output/bench/preboot-steps.{md,json}
 * and every console log (preboot-steps-*.console.log), and prints the table.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { PACKAGE_ROOT } from '../src/paths.js';
import { bootAndWatch } from '../src/qemu/boot.js';
import { startNginx } from '../test/helpers/nginx.js';
import { outputDir } from '../test/helpers/paths.js';
import { sha256, writeTargetFiles } from '../test/helpers/target.js';
import { inetbootEntryIso, median, subsetFromEnv, turned } from './ipxe-media.js';

const OUT = outputDir('bench');
const ROUNDS = Number(process.env.INETBOOT_BENCH_ROUNDS ?? 3);
/** As bench/ipxe.bench.ts: the file is held in the preboot's tmpfs and again by each kexec load. */
const MEMORY_MIB = 1536;
const BIG_BYTES = 200_000_000;
const STEPS_SCRIPT = join(PACKAGE_ROOT, 'bench', 'preboot-steps', 'steps.sh');

type Way = 'debian' | 'tiny';
type Firmware = 'bios' | 'uefi';
const WAYS = subsetFromEnv<Way>('INETBOOT_BENCH_WAYS', ['debian', 'tiny'], (w) => w);
const FIRMWARES: Firmware[] = ['bios', 'uefi'];
type Ram = 'lazy' | 'preallocated';
const RAMS = subsetFromEnv<Ram>('INETBOOT_BENCH_RAM', ['lazy', 'preallocated'], (r) => r);
/** QEMU's arguments for each kind of RAM (the bench's clock is the guest's, so the host's time
 * to preallocate before the guest starts is not counted). */
const RAM_ARGS: Record<Ram, string[]> = { lazy: [], preallocated: ['-mem-prealloc'] };
const CELLS = WAYS.flatMap((w) => FIRMWARES.flatMap((f) => RAMS.map((r) => [w, f, r] as const)));

/** The steps steps.sh prints ("STEP NAME VALUE"), in its order, with what each is. */
const STEPS: { name: string; title: string; unit: 's' | '%' | 'address' }[] = [
  { name: 'download', title: 'wget of 200 MB (no hash)', unit: 's' },
  { name: 'download-cpu-idle-percent', title: 'CPU idle during the download', unit: '%' },
  { name: 'download-to-null', title: 'wget of 200 MB to /dev/null (the network alone)', unit: 's' },
  { name: 'download-to-null-cpu-idle-percent', title: 'CPU idle during the download to /dev/null', unit: '%' },
  { name: 'sha256-busybox', title: "sha256 of 200 MB: BusyBox's sha256sum", unit: 's' },
  { name: 'sha256-inetboot', title: "sha256 of 200 MB: the preboot's inetboot-sha256", unit: 's' },
  { name: 'sha256-while-downloading', title: 'wget piped into inetboot-sha256 (no file)', unit: 's' },
  { name: 'kexec-load-first', title: 'kexec -l -i, first load', unit: 's' },
  { name: 'initrd-destination', title: 'where kexec-tools put the initrd', unit: 'address' },
  { name: 'kexec-load-again', title: 'kexec -l -i, again', unit: 's' },
  { name: 'kexec-load-below-512MiB', title: 'kexec -l -i --mem-max=0x1fffffff (below 512 MiB)', unit: 's' },
  { name: 'kexec-load-file-syscall', title: 'kexec -l -s (kexec_file_load)', unit: 's' },
];

interface Boot {
  round: number;
  /** The steps' values as printed; empty when the boot failed. */
  steps: Record<string, string>;
  failure?: string;
  log: string;
}

/** The STEP lines of a console log: name -> value, the last of each name. */
function stepLines(log: string): Record<string, string> {
  const steps: Record<string, string> = {};
  for (const m of log.matchAll(/^STEP (\S+) (\S+)\r?$/gm)) steps[m[1]!] = m[2]!;
  return steps;
}

it('the preboot steps of a 200 MB initrd on lazy and preallocated RAM: download, sha256 three ways, kexec load four ways', async () => {
  const www = join(OUT, 'preboot-steps-www');
  rmSync(www, { recursive: true, force: true });
  await writeTargetFiles(www);
  const big = randomBytes(BIG_BYTES);
  writeFileSync(join(www, 'big.img'), big);
  const script = readFileSync(STEPS_SCRIPT);
  writeFileSync(join(www, 'steps.sh'), script);

  const nginx = await startNginx({ root: www, name: 'bench-preboot-steps-nginx' });
  try {
    const base = nginx.baseUrlForGuest;
    const media = new Map<Way, string>();
    for (const way of WAYS) {
      const iso = join(OUT, `preboot-steps-${way}.iso`);
      await inetbootEntryIso(way, 'steps', ['title: Preboot steps', `iscript: { url: "${base}/steps.sh", sha256: "${sha256(script)}" }`, `append: "${base} ${sha256(big)}"`], iso);
      media.set(way, iso);
    }

    const boots = new Map(CELLS.map(([w, f, r]) => [`${w} ${f} ${r}`, [] as Boot[]]));
    for (let round = 1; round <= ROUNDS; round++) {
      // Interleaved, the order turned each round (as bench/ipxe.bench.ts).
      for (const [way, firmware, ram] of turned(CELLS, round)) {
        const logFile = join(OUT, `preboot-steps-${way}-${firmware}-${ram}-r${round}.console.log`);
        const r = await bootAndWatch({
          iso: media.get(way)!,
          uefi: firmware === 'uefi',
          expect: 'STEPS-DONE',
          failOn: ['STEPS-FAILED', 'Kernel panic', 'inetboot: ERROR'],
          timeoutMs: 900_000,
          logFile,
          memoryMiB: MEMORY_MIB,
          extraArgs: RAM_ARGS[ram],
        });
        const log = readFileSync(logFile, 'utf8');
        const b: Boot = r.ok ? { round, steps: stepLines(log), log: logFile } : { round, steps: {}, failure: `${r.reason}${r.matched ? `: ${r.matched}` : ''}`, log: logFile };
        boots.get(`${way} ${firmware} ${ram}`)!.push(b);
        console.log(`round ${round} ${way} ${firmware} ${ram}: ${b.failure ? `FAILED (${b.failure}, ${logFile})` : STEPS.map((s) => `${s.name} ${b.steps[s.name] ?? '-'}`).join(', ')}`);
      }
    }

    const columns = CELLS.map(([way, firmware, ram]) => {
      const all = boots.get(`${way} ${firmware} ${ram}`)!;
      const ok = all.every((b) => !b.failure);
      const medians = Object.fromEntries(
        STEPS.map((s) => {
          if (!ok) return [s.name, null];
          const values = all.map((b) => b.steps[s.name]);
          if (s.unit === 'address') return [s.name, [...new Set(values)].join(', ')];
          const nums = values.map(Number).filter((v) => Number.isFinite(v));
          return [s.name, nums.length === all.length ? median(nums) : null];
        }),
      ) as Record<string, number | string | null>;
      return { way, firmware, ram, medians, rounds: all };
    });
    const report = {
      rounds: ROUNDS,
      memory_mib: MEMORY_MIB,
      machine: 'QEMU q35, TCG, 1 CPU, virtio-net on user networking; nginx on 127.0.0.1',
      ram_args: RAM_ARGS,
      file_bytes: BIG_BYTES,
      steps: STEPS,
      columns,
    };
    writeFileSync(join(OUT, 'preboot-steps.json'), `${JSON.stringify(report, null, 2)}\n`);

    const cell = (v: number | string | null | undefined, unit: string) => (v === null || v === undefined ? '-' : typeof v === 'string' ? v : unit === '%' ? `${v.toFixed(0)}` : v.toFixed(2));
    const ratio = (c: (typeof columns)[number], a: string, b: string) => {
      const x = c.medians[a];
      const y = c.medians[b];
      return typeof x === 'number' && typeof y === 'number' && y > 0 ? `${(x / y).toFixed(2)}x` : '-';
    };
    // Hashing while downloading against doing one after the other: 1.00x, the two add up; below,
    // the hash used time the download left idle; above, the pipe costs more than it overlaps.
    const overlap = (c: (typeof columns)[number]) => {
      const [p, n, h] = ['sha256-while-downloading', 'download-to-null', 'sha256-inetboot'].map((k) => c.medians[k]);
      return typeof p === 'number' && typeof n === 'number' && typeof h === 'number' && n + h > 0 ? `${(p / (n + h)).toFixed(2)}x` : '-';
    };
    // The same step on lazy against preallocated RAM, for each way and firmware measured both ways.
    const pairs = WAYS.flatMap((way) => FIRMWARES.map((firmware) => {
      const of = (ram: Ram) => columns.find((c) => c.way === way && c.firmware === firmware && c.ram === ram);
      const lazy = of('lazy');
      const pre = of('preallocated');
      return lazy && pre ? { way, firmware, lazy, pre } : undefined;
    })).filter((p) => p !== undefined);
    const lazyTable = pairs.length === 0 ? [] : [
      '',
      '### The host\'s lazy backing of guest RAM: each step on lazy RAM / the same on preallocated RAM',
      '',
      `| step | ${pairs.map((p) => `${p.way} ${p.firmware.toUpperCase()}`).join(' | ')} |`,
      `|---|${pairs.map(() => '---:').join('|')}|`,
      ...STEPS.filter((s) => s.unit === 's').map((s) => `| ${s.title} | ${pairs.map((p) => {
        const x = p.lazy.medians[s.name];
        const y = p.pre.medians[s.name];
        return typeof x === 'number' && typeof y === 'number' && y > 0 ? `${x.toFixed(2)} / ${y.toFixed(2)} (${(x / y).toFixed(2)}x)` : '-';
      }).join(' | ')} |`),
    ];
    const md = [
      `## Inside the preboot: the steps of a 200 MB initrd (medians of ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}; seconds by the guest's /proc/uptime)`,
      '',
      `| step | ${columns.map((c) => `${c.way} ${c.firmware.toUpperCase()} ${c.ram}`).join(' | ')} |`,
      `|---|${columns.map(() => '---:').join('|')}|`,
      ...STEPS.map((s) => `| ${s.title}${s.unit === '%' ? ' (%)' : ''} | ${columns.map((c) => cell(c.medians[s.name], s.unit)).join(' | ')} |`),
      `| BusyBox sha256sum / inetboot-sha256 | ${columns.map((c) => ratio(c, 'sha256-busybox', 'sha256-inetboot')).join(' | ')} |`,
      `| kexec load below 512 MiB / again | ${columns.map((c) => ratio(c, 'kexec-load-below-512MiB', 'kexec-load-again')).join(' | ')} |`,
      `| kexec_file_load / kexec_load, again | ${columns.map((c) => ratio(c, 'kexec-load-file-syscall', 'kexec-load-again')).join(' | ')} |`,
      `| sha256 while downloading / (download to /dev/null + sha256) | ${columns.map(overlap).join(' | ')} |`,
      '',
      `${BIG_BYTES} random bytes from nginx on 127.0.0.1, -m ${MEMORY_MIB}, QEMU/TCG with one CPU (its default CPU model has no SHA instructions). ` +
        'The steps are bench/preboot-steps/steps.sh; a "-" is a step that failed in some round (see preboot-steps.json and the console logs, test-output/bench/preboot-steps-*.console.log). ' +
        'Lazy RAM is how every other bench and test runs QEMU; preallocated RAM is the same machine started with -mem-prealloc.',
      ...lazyTable,
    ];
    writeFileSync(join(OUT, 'preboot-steps.md'), `${md.join('\n')}\n`);
    console.log(md.join('\n'));
  } finally {
    await nginx.stop();
  }
}, 14_400_000);
