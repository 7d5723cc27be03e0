/**
 * inetboot against iPXE, side by side in one run (issue 11, "Faster than iPXE"; run by
 * `npm run bench`, which is `bash scripts/bench.sh ipxe`). Three media boot the same target,
 * Debian 12's kernel and the marker initrd of test/helpers/target.ts, from the same nginx on
 * 127.0.0.1 (the guest's 10.0.2.2), on the same QEMU machine (TCG, virtio-net, user networking,
 * MEMORY_MIB for all):
 *
 *   ipxe     Debian's `ipxe` package (apt-get download, into inetboot's cache): a grub-mkrescue
 *            ISO whose GRUB starts ipxe.lkrn with `linux16` and hands it an iPXE script as
 *            `initrd16` (dhcp, kernel, initrd, boot) on BIOS; on UEFI it chainloads ipxe.efi,
 *            which takes no script from GRUB (this 2019 build has neither a command line of
 *            its own on EFI nor autoexec.ipxe), so the same commands are typed on the serial
 *            console after Ctrl-B: OVMF's console includes the serial port
 *   debian   `inetboot build-iso --preboot-backend debian`, one entry with the same URLs,
 *            sha256 pinned, timeout 0
 *   tiny     the same with `--preboot-backend kernel-source` (the tiny profile)
 *
 * Rows: the marker initrd (about 1 MB) and a 200 MB one (the marker initrd, then an uncompressed
 * cpio of 200 MB of random bytes), BIOS and UEFI, on QEMU's user networking; and the 200 MB
 * initrd on BIOS over a link that adds 50 ms to every round trip, as a server across the
 * internet would: the guest's virtio-net on a stream netdev, each frame held 25 ms each way by
 * bench/delayed-link.ts, to Debian 13's passt (built by bench/passt.ts), which reaches nginx on
 * 127.0.0.1 as slirp does (the guest's 10.0.2.2). Each boot: seconds from QEMU's
 * start to TARGET-MARKER-OK on ttyS0, and the initrd's throughput as nginx saw it (bytes over
 * $request_time). INETBOOT_BENCH_ROUNDS rounds (default 3), every way of every row in each
 * round, the ways' order turned by one each round; the tables show medians, the JSON each
 * round. The stage budgets come from the host's time of every console line (ConsoleWatcher in
 * src/qemu/boot.ts) in round 1 of each row; STAGES says which line ends each stage. A last
 * table holds each row against issue 11's target (TARGET_RATIO of iPXE's median) with each
 * inetboot way's boots taken without their downloads and kexec load: when even that is over the
 * target, no faster download or load can meet it.
 *
 * Not a test: it asserts nothing about speed. It writes test-output/bench/ipxe.{md,json}, every
 * console log (ipxe-*.console.log, and ipxe-*.timed.log: each line with the seconds its first
 * byte and its newline came) and the media, and prints the tables.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { defaultCacheDir } from '../src/paths.js';
import { writeNewc } from '../src/pipeline/cpio.js';
import { fetchDebianPackage } from '../src/pipeline/preboot/kernel-package.js';
import { bootAndWatch, DEFAULT_NETWORK, type ConsoleInput, type LineTime } from '../src/qemu/boot.js';
import { accessLogRequests, startNginx } from '../test/helpers/nginx.js';
import { startDelayedLink, type DelayedLink } from './delayed-link.js';
import { passtFromSource, PASST_SUITE } from './passt.js';
import { outputDir } from '../test/helpers/paths.js';
import { sha256, TARGET_MARKER, writeTargetFiles } from '../test/helpers/target.js';
import { ALL_WAYS, IPXE_PACKAGE, ipxeTypedLine, median, subsetFromEnv, turned, WAY_TITLE, wayIso, waysFromEnv, type Target, type Way } from './ipxe-media.js';

const OUT = outputDir('bench');
/** Rounds of every boot; the tables show medians (INETBOOT_BENCH_ROUNDS, default 3; 0: the media
 * and their sizes only, no boot). */
const ROUNDS = Number(process.env.INETBOOT_BENCH_ROUNDS ?? 3);
/** INETBOOT_BENCH_PCAP=1: passt also captures every frame of a latency row (test-output/bench/NAME.link/tap.pcap, 0.5 GB for the 200 MB row). */
const PCAP = process.env.INETBOOT_BENCH_PCAP === '1';
/** One -m for every boot: the 200 MB initrd is held twice in the preboot (tmpfs, kexec's copy)
 * and twice in the target (the initrd and the files it unpacks to). */
const MEMORY_MIB = 1536;
const BALLAST_BYTES = 200_000_000;
/** The target's command line, the same from every medium (ipxe.efi adds initrd=NAME: below). */
const APPEND = 'console=ttyS0';

/** The tables show "-" for the ways left out. */
const WAYS: Way[] = waysFromEnv();
/** The inetboot ways among them (the bound table's columns). */
const INETBOOT_WAYS = WAYS.filter((w) => w !== 'ipxe');
type Size = 'small' | '200MB';
type Firmware = 'bios' | 'uefi';
interface Row {
  initrd: Size;
  firmware: Firmware;
  latencyMs: number;
}
const ALL_ROWS: Row[] = [
  { initrd: 'small', firmware: 'bios', latencyMs: 0 },
  { initrd: 'small', firmware: 'uefi', latencyMs: 0 },
  { initrd: '200MB', firmware: 'bios', latencyMs: 0 },
  { initrd: '200MB', firmware: 'uefi', latencyMs: 0 },
  { initrd: '200MB', firmware: 'bios', latencyMs: 50 },
];
const rowKey = (r: Row) => `${r.initrd}-${r.firmware}-${r.latencyMs}ms`;
/** INETBOOT_BENCH_ROWS=small-bios-0ms,...: only these rows (rowKey names them). */
const ROWS: Row[] = subsetFromEnv('INETBOOT_BENCH_ROWS', ALL_ROWS, rowKey);

/** A line that ends a stage: the first console line (after the previous stage's) that starts
 * with, or matches, `line`; `at` says whether its first character or its newline counts. When
 * the line is not on the console (iPXE on BIOS prints nothing there: this build has no serial
 * console), `server` takes the time from nginx's log instead: the first request's start or the
 * last one's end. */
interface Boundary {
  line: string | RegExp;
  at: 'start' | 'end';
  server?: 'first-start' | 'last-end';
}
/**
 * The stages, each ended by a console line (null: the loader has no such step; its time falls to
 * the next stage). Lines the preboot prints: init's `say "preboot started"`, net.sh's
 * `say "DHCP on ..."` (after load_drivers) and `say "network: ..."` (the lease applied),
 * fetch.sh's `say "downloading URL"` and `say "checking the sha256 of URL"` (the initrd's ends
 * the download stage, which so includes the kernel's small sha256), boot.sh's
 * `say "loading kernel ..."` (after every download was verified) and `say "starting ..."` (after
 * kexec -l). iPXE's: "iPXE initialising devices...ok" (its drivers probe the NIC), its dhcp
 * command's "Configuring (net0 ...)...... ok", and one "URL... ok" line per download, written
 * before and after it. iPXE has no separate load: it places the images when `boot` runs, so its
 * kexec-load stage is empty and the hand-off holds it. Between its device probing and its dhcp,
 * iPXE prints its banner, and on UEFI waits for Ctrl-B and the typed commands: a stage of its own.
 * Linux prints "Linux version" when its
 * serial console starts, not at its first instruction: the hand-off includes the target kernel's
 * early boot until then, the same kernel and command line for every way.
 */
const STAGES: { stage: string; inetboot: Boundary | null; ipxe: Boundary | null }[] = [
  { stage: 'loader until a network stack runs', inetboot: { line: 'inetboot: preboot started', at: 'start' }, ipxe: { line: /initialising devices/, at: 'start' } },
  { stage: 'NIC drivers', inetboot: { line: 'inetboot: DHCP on ', at: 'start' }, ipxe: { line: /initialising devices/, at: 'end' } },
  { stage: 'iPXE: banner, and on UEFI Ctrl-B and the typed commands', inetboot: null, ipxe: { line: 'Configuring (net', at: 'start' } },
  { stage: 'DHCP', inetboot: { line: 'inetboot: network: ', at: 'start' }, ipxe: { line: 'Configuring (net', at: 'end' } },
  { stage: 'lease until first download', inetboot: { line: 'inetboot: downloading ', at: 'start' }, ipxe: { line: /^http:\/\/\S+\/vmlinuz/, at: 'start', server: 'first-start' } },
  {
    stage: 'downloads (inetboot: and the kernel\'s sha256)',
    inetboot: { line: /^inetboot: checking the sha256 of \S+\/target[^/\s]*\.img/, at: 'start' },
    ipxe: { line: /^http:\/\/\S+\/target[^/\s]*\.img/, at: 'end', server: 'last-end' },
  },
  { stage: 'sha256 of the initrd', inetboot: { line: 'inetboot: loading kernel with command line', at: 'start' }, ipxe: null },
  { stage: 'kexec load', inetboot: { line: 'inetboot: starting ', at: 'start' }, ipxe: null },
  { stage: 'hand-off until "Linux version"', inetboot: { line: /Linux version /, at: 'start' }, ipxe: { line: /Linux version /, at: 'start' } },
  { stage: 'target until marker', inetboot: { line: TARGET_MARKER, at: 'start' }, ipxe: { line: TARGET_MARKER, at: 'start' } },
];

/** Issue 11's targets: the best inetboot way at most this share of iPXE's time. */
const TARGET_RATIO: Record<Size, number> = { small: 0.85, '200MB': 0.8 };
/** The stages that move the files into the preboot and into kexec's segments (STAGES' names). */
/** STAGES' index of the stage NAME; an unknown name is a bug here, not a missing line. */
function stageIndex(name: string): number {
  const i = STAGES.findIndex((st) => st.stage === name);
  if (i < 0) throw new Error(`internal: no stage named ${JSON.stringify(name)} in STAGES`);
  return i;
}
const TRANSFER_STAGES = ["downloads (inetboot: and the kernel's sha256)", 'kexec load'].map(stageIndex);
const SHA256_STAGE = stageIndex('sha256 of the initrd');

interface TimedLine extends LineTime {
  line: string;
}

interface Boot {
  round: number;
  /** Seconds from QEMU's start to the marker; null when the boot failed. */
  seconds: number | null;
  failure?: string;
  /** The initrd's MB/s as nginx served it ($request_time), 10^6 bytes. */
  initrdMBps?: number;
  initrdServedSeconds?: number;
  bytesServed: number;
  /** Latency rows: the bytes the delayed link carried each way (retransmissions included). */
  linkBytes?: { toGuest: number; fromGuest: number };
  /** Each stage's seconds (null: its line was not seen). */
  stages: (number | null)[];
  /** Which of them nginx's log timed (the line was not on the console). */
  stagesFromServer: boolean[];
  /** The first request's start and the last one's end as nginx logged them, in s from QEMU's start. */
  server?: { firstStartS: number; lastEndS: number };
  log: string;
}

/** Seconds of each stage from a boot's timed lines: each boundary is searched after the last found. */
function stageSeconds(lines: readonly TimedLine[], way: Way, server?: { firstStartS: number; lastEndS: number }): { stages: (number | null)[]; fromServer: boolean[] } {
  let prevMs = 0;
  let from = 0;
  const fromServer: boolean[] = [];
  const stages = STAGES.map((s) => {
    fromServer.push(false);
    const b = way === 'ipxe' ? s.ipxe : s.inetboot;
    if (!b) return null;
    const i = lines.findIndex((l, n) => n >= from && (typeof b.line === 'string' ? l.line.trimStart().startsWith(b.line) : b.line.test(l.line.trimStart())));
    let ms: number;
    if (i >= 0) {
      ms = b.at === 'start' ? lines[i]!.startMs : lines[i]!.endMs;
      from = i;
    } else if (b.server && server) {
      ms = 1000 * (b.server === 'first-start' ? server.firstStartS : server.lastEndS);
      fromServer[fromServer.length - 1] = true;
    } else {
      return null;
    }
    const secs = (ms - prevMs) / 1000;
    prevMs = ms;
    return secs;
  });
  return { stages, fromServer };
}

/** The marker initrd, padded to 4 bytes (the kernel looks for the next archive there), then a
 * cpio holding BALLAST_BYTES of random bytes, stored: nothing on the way can compress it. */
function bigInitrd(small: Buffer): Buffer {
  const ballast = writeNewc([{ type: 'file', path: 'ballast', mode: 0o644, data: randomBytes(BALLAST_BYTES) }]);
  return Buffer.concat([small, Buffer.alloc((4 - (small.length % 4)) % 4), ballast]);
}

it('inetboot (debian, tiny) against iPXE: small and 200 MB initrd, BIOS and UEFI', async () => {
  const www = join(OUT, 'ipxe-www');
  rmSync(www, { recursive: true, force: true });
  const target = await writeTargetFiles(www);
  const small = readFileSync(join(www, 'target.img'));
  const big = bigInitrd(small);
  writeFileSync(join(www, 'target-200m.img'), big);
  const initrds: Record<Size, { name: string; sha256: string; bytes: number }> = {
    small: { name: 'target.img', sha256: target.initrdSha256, bytes: small.length },
    '200MB': { name: 'target-200m.img', sha256: sha256(big), bytes: big.length },
  };
  const ipxePkg = await fetchDebianPackage(IPXE_PACKAGE, defaultCacheDir());
  const ipxeVersion = readFileSync(join(ipxePkg, '.complete'), 'utf8').trim();

  const nginx = await startNginx({ root: www, name: 'bench-ipxe-nginx', requestTimes: true });
  try {
    const base = nginx.baseUrlForGuest;
    // The media: one per way and initrd (the URLs, the port included, are in them).
    const media = new Map<string, string>();
    const targets = new Map<Size, Target>();
    for (const size of [...new Set(ROWS.map((r) => r.initrd))]) {
      const t: Target = { kernelUrl: `${base}/vmlinuz`, kernelSha256: target.kernelSha256, initrdUrl: `${base}/${initrds[size].name}`, initrdSha256: initrds[size].sha256, append: APPEND };
      targets.set(size, t);
      for (const way of WAYS) {
        const iso = join(OUT, `ipxe-${way}-${size}.iso`);
        await wayIso(way, ipxePkg, t, iso);
        media.set(`${way} ${size}`, iso);
      }
    }

    // The latency rows' link runs Debian 13's passt, built once into the cache (bench/passt.ts).
    const passt = ROWS.some((r) => r.latencyMs > 0) ? await passtFromSource(defaultCacheDir()) : undefined;

    const boot = async (row: Row, way: Way, round: number): Promise<Boot> => {
      const name = `ipxe-${rowKey(row)}-${way}-r${round}`;
      const logFile = join(OUT, `${name}.console.log`);
      const initrd = initrds[row.initrd];
      const lines: TimedLine[] = [];
      const input: ConsoleInput[] =
        way === 'ipxe' && row.firmware === 'uefi'
          ? [
              { when: 'Press Ctrl-B', send: '\x02' },
              { when: 'iPXE>', send: `${ipxeTypedLine(targets.get(row.initrd)!)}\r` },
            ]
          : [];
      writeFileSync(nginx.accessLog, '');
      const linkDir = join(OUT, `${name}.link`);
      rmSync(linkDir, { recursive: true, force: true });
      const link: DelayedLink | undefined = row.latencyMs > 0 ? await startDelayedLink({ passt: passt!.binary, dir: linkDir, rttMs: row.latencyMs, pcap: PCAP }) : undefined;
      // The Unix time of QEMU's start, from the first line's time (for nginx's $msec).
      let epochAtStart: number | undefined;
      const r = await bootAndWatch({
        iso: media.get(`${way} ${row.initrd}`)!,
        uefi: row.firmware === 'uefi',
        expect: TARGET_MARKER,
        // iPXE's errors end in "(http://ipxe.org/CODE)"; its banner names the site without "(".
        failOn: ['Kernel panic', 'inetboot: ERROR', '(http://ipxe.org/'],
        timeoutMs: (row.latencyMs > 0 ? 1800 : 600) * 1000,
        logFile,
        memoryMiB: MEMORY_MIB,
        network: link?.network ?? DEFAULT_NETWORK,
        input,
        onLine: (line, at) => {
          epochAtStart ??= Date.now() - at.endMs;
          lines.push({ line, ...at });
        },
      }).finally(async () => {
        await link?.close();
        if (link?.passtOutput) writeFileSync(join(linkDir, 'passt.stderr'), link.passtOutput);
      });
      // QEMU is stopped when the marker arrives, often before its newline: its line is then the match.
      if (r.ok && !lines.some((l) => l.line.includes(TARGET_MARKER))) lines.push({ line: TARGET_MARKER, startMs: r.elapsedMs, endMs: r.elapsedMs });
      writeFileSync(join(OUT, `${name}.timed.log`), lines.map((l) => `${(l.startMs / 1000).toFixed(3).padStart(8)} ${(l.endMs / 1000).toFixed(3).padStart(8)} ${l.line}\n`).join(''));
      const served = accessLogRequests(nginx.accessLog);
      const got = served.find((q) => q.path === `/${initrd.name}` && q.status === 200 && q.bytes === initrd.bytes);
      const timed = served.filter((q) => q.endMs !== undefined && q.seconds !== undefined);
      const server =
        epochAtStart !== undefined && timed.length > 0
          ? {
              firstStartS: Math.min(...timed.map((q) => q.endMs! - 1000 * q.seconds! - epochAtStart!)) / 1000,
              lastEndS: Math.max(...timed.map((q) => q.endMs! - epochAtStart!)) / 1000,
            }
          : undefined;
      const { stages, fromServer } = stageSeconds(lines, way, server);
      return {
        round,
        seconds: r.ok ? r.elapsedMs / 1000 : null,
        ...(r.ok ? {} : { failure: `${r.reason}${r.matched ? `: ${r.matched}` : ''}` }),
        ...(got?.seconds ? { initrdMBps: got.bytes / got.seconds / 1e6, initrdServedSeconds: got.seconds } : {}),
        bytesServed: served.reduce((n, q) => n + q.bytes, 0),
        ...(link ? { linkBytes: link.bytes } : {}),
        stages,
        stagesFromServer: fromServer,
        ...(server ? { server } : {}),
        log: logFile,
      };
    };

    const boots = new Map(ROWS.flatMap((row) => WAYS.map((w) => [`${rowKey(row)} ${w}`, [] as Boot[]])));
    for (let round = 1; round <= ROUNDS; round++) {
      // Interleaved: a machine that slows down for a while slows every way; the order turns by
      // one each round, so no way is always the first after another's boot.
      const order = turned(WAYS, round);
      for (const row of ROWS) {
        for (const way of order) {
          const b = await boot(row, way, round);
          boots.get(`${rowKey(row)} ${way}`)!.push(b);
          console.log(`round ${round} ${rowKey(row)} ${way}: ${b.seconds === null ? `FAILED (${b.failure}, ${b.log})` : `${b.seconds.toFixed(1)} s`}${b.initrdMBps ? `, initrd ${b.initrdMBps.toFixed(1)} MB/s` : ''}`);
        }
      }
    }

    const isoSize = (way: Way) => {
      const iso = media.get(`${way} small`) ?? media.get(`${way} 200MB`);
      return iso ? statSync(iso).size : null;
    };
    const sizes = {
      debian_ipxe_iso: statSync(join(ipxePkg, 'usr', 'lib', 'ipxe', 'ipxe.iso')).size,
      inetboot_debian_iso: isoSize('debian'),
      inetboot_tiny_iso: isoSize('tiny'),
    };
    const rows = ROWS.map((row) => {
      const ways = Object.fromEntries(
        WAYS.map((w) => {
          const all = boots.get(`${rowKey(row)} ${w}`)!;
          const ok = all.filter((b) => b.seconds !== null);
          return [
            w,
            {
              median_seconds: ok.length === all.length ? median(ok.map((b) => b.seconds!)) : null,
              median_initrd_mbps: median(all.flatMap((b) => (b.initrdMBps ? [b.initrdMBps] : []))),
              rounds: all,
            },
          ];
        }),
      ) as Partial<Record<Way, { median_seconds: number | null; median_initrd_mbps: number | null; rounds: Boot[] }>>;
      return { initrd: row.initrd, firmware: row.firmware, latency_ms: row.latencyMs, ways };
    });
    // The stage budgets: round 1 of every row, one table per initrd and link.
    const budgets = [...new Set(ROWS.map((r) => `${r.initrd} ${r.latencyMs}`))].map((group) => {
      const [initrd, latency] = group.split(' ') as [Size, string];
      const columns = ROWS.filter((r) => r.initrd === initrd && r.latencyMs === Number(latency)).flatMap((row) =>
        WAYS.map((w) => {
          const b = boots.get(`${rowKey(row)} ${w}`)?.[0];
          return { firmware: row.firmware, way: w, stages: b?.stages ?? STAGES.map(() => null), from_server: b?.stagesFromServer ?? STAGES.map(() => false) };
        }),
      );
      return { initrd, latency_ms: Number(latency), columns };
    });

    // What is left when the downloads and kexec's load take no time at all: each inetboot boot's
    // seconds without those stages (medians over the rounds). Above the row's target, no faster
    // download or load can meet it: the rest (the preboot's own boot, the sha256 of the initrd,
    // the hand-off and the target) is already longer.
    const bounds = rows.map((r, i) => {
      const row = ROWS[i]!;
      const ipxe = r.ways.ipxe?.median_seconds ?? null;
      const target = ipxe === null ? null : ipxe * TARGET_RATIO[row.initrd];
      const ways = Object.fromEntries(
        INETBOOT_WAYS.map((w) => {
          const all = boots.get(`${rowKey(row)} ${w}`)!;
          const whole = all.every((b) => b.seconds !== null && TRANSFER_STAGES.every((k) => b.stages[k] !== null) && b.stages[SHA256_STAGE] !== null);
          return [
            w,
            whole
              ? {
                  without_transfers_seconds: median(all.map((b) => b.seconds! - TRANSFER_STAGES.reduce((n, k) => n + b.stages[k]!, 0))),
                  sha256_seconds: median(all.map((b) => b.stages[SHA256_STAGE]!)),
                }
              : null,
          ];
        }),
      ) as Partial<Record<Way, { without_transfers_seconds: number; sha256_seconds: number } | null>>;
      return { initrd: r.initrd, firmware: r.firmware, latency_ms: r.latency_ms, target_ratio: TARGET_RATIO[row.initrd], target_seconds: target, ways };
    });

    const report = {
      rounds: ROUNDS,
      memory_mib: MEMORY_MIB,
      machine:
        'QEMU q35, TCG, 1 CPU, virtio-net on user networking; rows with added latency: virtio-net on a stream netdev, delayed by half the RTT each way, to passt (bench/delayed-link.ts); nginx on 127.0.0.1',
      ...(passt ? { passt: `Debian ${PASST_SUITE} source package ${passt.version}, built by bench/passt.ts` } : {}),
      ipxe_package: ipxeVersion,
      target: { kernel_bytes: statSync(join(www, 'vmlinuz')).size, initrds },
      sizes,
      rows,
      stage_names: STAGES.map((s) => s.stage),
      stage_budgets: budgets,
      bounds,
    };
    writeFileSync(join(OUT, 'ipxe.json'), `${JSON.stringify(report, null, 2)}\n`);

    const s = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? '-' : v.toFixed(d));
    const ratio = (a: number | null, b: number | null) => (a === null || b === null ? '-' : `${(a / b).toFixed(2)}x`);
    const mb = (b: number | null) => (b === null ? '-' : (b / 1e6).toFixed(2));
    const md = [
      `## inetboot against iPXE: seconds from QEMU's start to the target's marker (medians of ${ROUNDS} round${ROUNDS === 1 ? '' : 's'})`,
      '',
      '| initrd | firmware | link | iPXE (s) | inetboot debian (s) | inetboot tiny (s) | debian / iPXE | tiny / iPXE | initrd MB/s: iPXE / debian / tiny |',
      '|---|---|---|---:|---:|---:|---:|---:|---:|',
      ...rows.map((r) => {
        const m = (w: Way) => r.ways[w]?.median_seconds ?? null;
        const tp = r.initrd === 'small' ? '-' : ALL_WAYS.map((w) => s(r.ways[w]?.median_initrd_mbps)).join(' / ');
        return `| ${r.initrd} | ${r.firmware.toUpperCase()} | ${r.latency_ms ? `+${r.latency_ms} ms RTT` : 'direct'} | ${s(m('ipxe'))} | ${s(m('debian'))} | ${s(m('tiny'))} | ${ratio(m('debian'), m('ipxe'))} | ${ratio(m('tiny'), m('ipxe'))} | ${tp} |`;
      }),
      '',
      `Ratios are inetboot's time over iPXE's (below 1: inetboot is faster). MB/s: the initrd's bytes over nginx's $request_time. ` +
        `Small initrd ${initrds.small.bytes} bytes, 200 MB initrd ${initrds['200MB'].bytes} bytes, target kernel ${report.target.kernel_bytes} bytes; ` +
        `-m ${MEMORY_MIB} for every boot; Debian package ${ipxeVersion}. ` +
        `iPXE on UEFI is ipxe.efi chainloaded by GRUB, driven by typing its commands on the serial console after Ctrl-B (this build takes no script from GRUB on EFI); ` +
        `its time includes the prompt and the typing. +50 ms RTT: every frame held 25 ms each way between the guest's NIC and passt ` +
        `(bench/delayed-link.ts; ${passt ? `Debian ${PASST_SUITE}'s passt ${passt.version}` : 'passt'}), no bandwidth limit added. ` +
        `A "-" is a boot that failed in some round (see ipxe.json).`,
      '',
      ...budgets.flatMap(({ initrd, latency_ms, columns }) => [
        `### Stage budget: ${initrd === 'small' ? 'small' : '200 MB'} initrd, ${latency_ms ? `+${latency_ms} ms RTT` : 'direct'} (round 1; seconds, from the host's time of each console line)`,
        '',
        `| stage | ${columns.map((b) => `${WAY_TITLE[b.way]} ${b.firmware.toUpperCase()}`).join(' | ')} |`,
        `|---|${columns.map(() => '---:').join('|')}|`,
        ...STAGES.map((st, i) => `| ${st.stage} | ${columns.map((b) => `${s(b.stages[i], 2)}${b.from_server[i] ? '*' : ''}`).join(' | ')} |`),
        `| total | ${columns.map((b) => s(b.stages.some((v) => v !== null) ? b.stages.reduce<number>((n, v) => n + (v ?? 0), 0) : null, 2)).join(' | ')} |`,
        '',
      ]),
      "### Against the targets, with the downloads and kexec's load taking no time (medians of each way's boots without those two stages)",
      '',
      `| initrd | firmware | link | target | target (s) | ${INETBOOT_WAYS.map((w) => `${WAY_TITLE[w]}: measured (s) | ${WAY_TITLE[w]}: without downloads and load (s) | ${WAY_TITLE[w]}: of which sha256 of the initrd (s)`).join(' | ')} |`,
      `|---|---|---|---:|---:|${INETBOOT_WAYS.map(() => '---:|---:|---:').join('|')}|`,
      ...bounds.map((b, i) => {
        const r = rows[i]!;
        const cells = INETBOOT_WAYS.map((w) => {
          const v = b.ways[w];
          return `${s(r.ways[w]?.median_seconds)} | ${v ? `${s(v.without_transfers_seconds)}${b.target_seconds !== null && v.without_transfers_seconds > b.target_seconds ? ' (over)' : ''}` : '-'} | ${v ? s(v.sha256_seconds, 2) : '-'}`;
        });
        return `| ${b.initrd} | ${b.firmware.toUpperCase()} | ${b.latency_ms ? `+${b.latency_ms} ms RTT` : 'direct'} | ${b.target_ratio}x iPXE | ${s(b.target_seconds)} | ${cells.join(' | ')} |`;
      }),
      '',
      '"(over)": even with the downloads and the load free, the rest of that boot (the preboot\'s own start, the sha256 of the initrd, the hand-off and the target) is longer than the target; ' +
        'iPXE verifies nothing, so the sha256 is time only inetboot spends.',
      '',
      'A "-" stage: the line that ends it was not on the console (iPXE has no load step of its own, and on BIOS prints nothing on the serial port: ' +
        "Debian's ipxe.lkrn has no serial console), so its time is in the next stage. *: the boundary is nginx's log (first request's start, last one's end), " +
        'the line being absent. bench/ipxe.bench.ts (STAGES) names the lines.',
      '',
      '### Sizes',
      '',
      '| medium | MB |',
      '|---|---:|',
      `| Debian's ipxe.iso (in the ${IPXE_PACKAGE} package) | ${mb(sizes.debian_ipxe_iso)} |`,
      `| inetboot debian ISO | ${mb(sizes.inetboot_debian_iso)} |`,
      `| inetboot tiny ISO | ${mb(sizes.inetboot_tiny_iso)} |`,
      "| the seeds' sample CD (its stated size; README's target for the tiny ISO) | 5.4 |",
      '',
      '(MB = 10^6 bytes. Every console log is in test-output/bench/ipxe-*.console.log, with line times in ipxe-*.timed.log.)',
    ];
    writeFileSync(join(OUT, 'ipxe.md'), `${md.join('\n')}\n`);
    console.log(md.join('\n'));
  } finally {
    await nginx.stop();
  }
}, 14_400_000);
