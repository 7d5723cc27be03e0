/**
 * The block cache, boot profiles and latency, side by side in one run (README, "How much a boot
 * fetches"; run by `bash scripts/bench.sh root-cache`). The Debian 12 test root
 * (test/helpers/debian-root.ts) is published with blocks of 64 KiB, 256 KiB and 1 MiB; for each,
 * its kernel and miniroot are booted in QEMU (TCG, 1 GiB, -kernel/-initrd with the archive the
 * preboot appends) to systemd's `login:` on ttyS0:
 *
 *   first     a fresh USB stick (test/helpers/usb-stick.ts), no boot profile: every block the
 *             boot reads comes from the server when the read asks for it
 *   profiled  a fresh stick, with the boot profile the first boots (at 0 and at 50 ms)
 *             recorded (publish --profile, twice): its blocks are fetched ahead of the reads,
 *             several at once
 *   second    the stick the profiled boot filled, again: what it stored is read from it
 *   download  ib.toram: the whole image fetched into RAM first (no stick)
 *
 * each served by nginx directly (0 ms), and by the repo's fault server adding 50 ms to every
 * request (test/helpers/fault-server.ts, delay/50/). Bytes are what the requests named (the
 * files' sizes), requests what the server was asked; seconds from QEMU's start to `login:`.
 * Every boot runs INETBOOT_BENCH_ROUNDS times (default 3), the ways interleaved within a round;
 * the table shows medians (each round's figures are in the JSON). Not a test: it asserts
 * nothing about speed; it prints the table and writes test-output/bench/root-cache.{json,txt}.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { parseManifest, type RootManifest } from '../src/pipeline/publish/manifest.js';
import { bootAndWatch } from '../src/qemu/boot.js';
import { bin } from '../test/helpers/cli.js';
import { debianRoot } from '../test/helpers/debian-root.js';
import { startFaultServer } from '../test/helpers/fault-server.js';
import { accessLogRequests, startNginx } from '../test/helpers/nginx.js';
import { outputDir } from '../test/helpers/paths.js';
import { withRootHandover } from '../test/helpers/root-handover.js';
import { PRINT_PROFILE, profileFromConsole, SETTLE } from '../test/helpers/root-medium.js';
import { makeUsbStick, usbStickArgs } from '../test/helpers/usb-stick.js';

const OUT = outputDir('bench');
const SIZES = ['64K', '256K', '1M'];
const LATENCIES = [0, 50];
const MARK = 'BENCH-DONE';
/** Rounds of every boot; the table shows medians (INETBOOT_BENCH_ROUNDS, default 3). */
const ROUNDS = Number(process.env.INETBOOT_BENCH_ROUNDS ?? 3);

interface Run {
  seconds: number;
  bytes: number;
  requests: number;
}

type Way = 'first' | 'profiled' | 'second' | 'download';
const WAYS: Way[] = ['first', 'profiled', 'second', 'download'];

it('first, profiled and second boot with a cache stick, at 0 and 50 ms per request, against the whole-image download', async () => {
  const root = await debianRoot();
  const rows: ({ size: string; latency: number; image_bytes: number; profile_blocks: number } & Record<Way, Run>)[] = [];
  for (const size of SIZES) {
    const www = join(OUT, `cache-www-${size}`);
    rmSync(www, { recursive: true, force: true });
    const pub = await bin(['publish', root, '--out', www, '--block-size', size, '--json']);
    if (pub.code !== 0) throw new Error(pub.stderr);
    const manifest: RootManifest = parseManifest(readFileSync(join(www, 'root.json'), 'utf8'));
    const nginx = await startNginx({ root: www, name: `bench-cache-nginx-${size}` });
    const fault = await startFaultServer({ root: www });
    try {
      const kernel = join(www, manifest.kernel.path);
      const mini = readFileSync(join(www, manifest.miniroot.path));
      // The boots of one latency, each counting what the server was asked for since the last.
      const bootsAt = (latency: number) => {
        const source = latency === 0 ? `${nginx.baseUrlForGuest}/` : `http://10.0.2.2:${fault.port}/delay/${latency}/`;
        const initrd = (m: RootManifest) => {
          const file = join(OUT, `cache-initrd-${size}-${latency}-${m.profile ? 'profile' : 'none'}`);
          writeFileSync(
            file,
            withRootHandover(mini, {
              sources: [source],
              index_sha256: m.index.sha256,
              index_size: m.index.size,
              ...(m.profile ? { profile_sha256: m.profile.sha256, profile_size: m.profile.size } : {}),
              mac: '52:54:00:12:34:56',
              address: '10.0.2.15/24',
              gateway: '10.0.2.2',
              dns: ['10.0.2.3'],
            }),
          );
          return file;
        };
        // What the server was asked for since the last call, as paths below www/.
        let faultSeen = 0;
        const asked = (): string[] => {
          if (latency === 0) {
            const paths = accessLogRequests(nginx.accessLog).map((r) => r.path.replace(/^\//, ''));
            writeFileSync(nginx.accessLog, '');
            return paths;
          }
          const paths = fault.requests.slice(faultSeen).map((r) => r.split(' ')[1]!.replace(`/delay/${latency}/`, ''));
          faultSeen = fault.requests.length;
          return paths;
        };
        const boot = async (name: string, m: RootManifest, opts: { stick?: string; toram?: boolean; record?: boolean }): Promise<Run & { log: string }> => {
          asked();
          const logFile = join(OUT, `cache-${size}-${latency}-${name}.console.log`);
          let loginS: number | undefined;
          const t0 = Date.now();
          const record = opts.record ? `${PRINT_PROFILE}; ` : '';
          const r = await bootAndWatch({
            direct: { kernel, initrd: initrd(m), append: `console=ttyS0${opts.toram ? ' ib.toram' : ''}` },
            memoryMiB: 1024,
            expect: `${MARK}-42`,
            failOn: ['Kernel panic', 'ERROR: ', 'Out of memory'],
            timeoutMs: 900_000,
            logFile,
            extraArgs: opts.stick ? usbStickArgs(opts.stick) : [],
            input: [
              { when: 'login:', send: 'root\n' },
              // The daemon's counters in the console log (disk_dropped, prefetch_*), for a row that looks odd.
              { when: ':~# ', send: `${record}${SETTLE}; cat /run/inetboot/blocks/stats; echo ${MARK}-$((6*7))\n` },
            ],
            onLine: (line) => {
              if (loginS === undefined && / login: /.test(line)) loginS = (Date.now() - t0) / 1000;
            },
          });
          if (!r.ok || loginS === undefined) throw new Error(`${name} (${size}, ${latency} ms) did not reach login: (${logFile})`);
          const paths = asked();
          return { seconds: loginS, requests: paths.length, bytes: paths.reduce((n, p) => n + statSync(join(www, p)).size, 0), log: readFileSync(logFile, 'utf8') };
        };
        return boot;
      };
      const boots = new Map(LATENCIES.map((latency) => [latency, bootsAt(latency)]));
      const runs = new Map(LATENCIES.flatMap((latency) => WAYS.map((w) => [`${latency} ${w}`, [] as Run[]])));
      const keep = (latency: number, way: Way, r: Run & { log?: string }) => runs.get(`${latency} ${way}`)!.push({ seconds: r.seconds, bytes: r.bytes, requests: r.requests });
      // Round 1's first boots record the profile: the one published is theirs together (README,
      // "Boot profiles": the blocks of the last boots, each once).
      const recorded: string[] = [];
      for (const latency of LATENCIES) {
        const first = await boots.get(latency)!('first-1', manifest, { stick: await makeUsbStick(join(OUT, 'cache-stick.img'), 512), record: true });
        const file = join(OUT, `cache-${size}-${latency}.profile`);
        writeFileSync(file, profileFromConsole(first.log));
        recorded.push('--profile', file);
        keep(latency, 'first', first);
      }
      const again = await bin(['publish', root, '--out', www, '--block-size', size, ...recorded, '--json']);
      if (again.code !== 0) throw new Error(again.stderr);
      const profiled = parseManifest(readFileSync(join(www, 'root.json'), 'utf8'));
      if (profiled.index.sha256 !== manifest.index.sha256 || !profiled.profile) throw new Error('the republished root is not the same image with a profile');
      // Rounds, the ways interleaved: a machine that slows down for a while slows every way.
      for (let round = 1; round <= ROUNDS; round++) {
        for (const latency of LATENCIES) {
          const boot = boots.get(latency)!;
          if (round > 1) keep(latency, 'first', await boot(`first-${round}`, manifest, { stick: await makeUsbStick(join(OUT, 'cache-stick.img'), 512) }));
          const stick = await makeUsbStick(join(OUT, 'cache-stick.img'), 512);
          keep(latency, 'profiled', await boot(`profiled-${round}`, profiled, { stick }));
          keep(latency, 'second', await boot(`second-${round}`, profiled, { stick }));
          keep(latency, 'download', await boot(`download-${round}`, manifest, { toram: true }));
        }
      }
      for (const latency of LATENCIES) {
        const median = (way: Way): Run & { rounds: Run[] } => {
          const all = runs.get(`${latency} ${way}`)!;
          const mid = (f: (r: Run) => number) => {
            const v = all.map(f).sort((a, b) => a - b);
            return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
          };
          return { seconds: mid((r) => r.seconds), bytes: mid((r) => r.bytes), requests: mid((r) => r.requests), rounds: all };
        };
        const row = { size, latency, image_bytes: manifest.image_bytes, profile_blocks: (profiled.profile.size - 16) / 4, first: median('first'), profiled: median('profiled'), second: median('second'), download: median('download') };
        rows.push(row);
        console.log(`${size} ${latency} ms: ${JSON.stringify(row)}`);
      }
    } finally {
      await nginx.stop();
      await fault.stop();
    }
  }
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'root-cache.json'), `${JSON.stringify(rows, null, 2)}\n`);
  const mb = (b: number) => (b / 1e6).toFixed(1);
  const at0 = (size: string) => rows.find((r) => r.size === size && r.latency === 0)!;
  const run = (r: Run, w: number) => `${r.seconds.toFixed(1).padStart(w)} ${mb(r.bytes).padStart(5)} ${String(r.requests).padStart(4)}`;
  const x = (a: number, b: number, w: number) => `${(a / b).toFixed(2)}x`.padStart(w);
  const lines = [
    `image: ${rows[0]!.image_bytes} bytes; seconds to login:, MB and requests served: medians of ${ROUNDS} rounds`,
    'block latency |  first: s    MB  req | profiled: s  MB  req | second: s   MB  req | download: s | second/first MB | first vs 0 ms | profiled vs 0 ms | download/first | download/profiled',
    ...rows.map((r) =>
      [
        r.size.padStart(5),
        `${r.latency} ms`.padStart(7),
        '|',
        run(r.first, 9),
        '|',
        run(r.profiled, 11),
        '|',
        run(r.second, 9),
        '|',
        r.download.seconds.toFixed(1).padStart(11),
        '|',
        `${((100 * r.second.bytes) / r.first.bytes).toFixed(2)}%`.padStart(15),
        '|',
        x(r.first.seconds, at0(r.size).first.seconds, 13),
        '|',
        x(r.profiled.seconds, at0(r.size).profiled.seconds, 16),
        '|',
        x(r.download.seconds, r.first.seconds, 14),
        '|',
        x(r.download.seconds, r.profiled.seconds, 17),
      ].join(' '),
    ),
    '(bytes: the sizes of the files asked for: index, profile and blocks; the kernel and miniroot are given to QEMU directly)',
    `(profiles: ${rows.filter((r) => r.latency === 0).map((r) => `${r.size} ${r.profile_blocks} blocks`).join(', ')})`,
  ];
  console.log(lines.join('\n'));
  writeFileSync(join(OUT, 'root-cache.txt'), `${lines.join('\n')}\n`);
}, 7_200_000);
