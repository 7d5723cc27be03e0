/**
 * The lazy root against its alternatives, side by side in one run (README, "Benchmarks"; run by
 * `bash scripts/bench.sh root`). The Debian 12 test root (test/helpers/debian-root.ts) is
 * published and served by nginx on 127.0.0.1; its own kernel and miniroot are booted in QEMU
 * (TCG, -kernel/-initrd, as the preboot's kexec would start them, with the archive the preboot
 * appends) three ways, to systemd's `login:` on ttyS0:
 *
 *   lazy      the block daemon fetches the blocks the boot reads (the default)
 *   download  ib.toram: the whole image is fetched into RAM first, then booted (what Debian
 *             live-boot's fetch= and dracut's livenet do), every block verified on the way
 *   local     ib.root_device=/dev/vda: the same image on a local virtio disk, no network: the floor
 *
 * For each: seconds from QEMU's start to `login:`, bytes and requests nginx served, and, with
 * --memory, the smallest -m (MiB, from a fixed ladder) it reaches `login:` with. Not a test:
 * it asserts nothing about speed; it prints the figures and writes test-output/bench/root.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { defaultCacheDir } from '../src/paths.js';
import { buildBlockd } from '../src/pipeline/publish/daemon.js';
import { parseManifest } from '../src/pipeline/publish/manifest.js';
import { bootAndWatch } from '../src/qemu/boot.js';
import { bin } from '../test/helpers/cli.js';
import { debianRoot } from '../test/helpers/debian-root.js';
import { accessLogRequests, startNginx } from '../test/helpers/nginx.js';
import { outputDir } from '../test/helpers/paths.js';
import { withRootHandover } from '../test/helpers/root-handover.js';
import { startBlockd } from '../test/helpers/published.js';

const OUT = outputDir('bench');
const LADDER = [512, 384, 320, 256, 224, 192, 160, 128, 96];
const WITH_MEMORY = process.env.INETBOOT_BENCH_MEMORY === '1';

type Way = 'lazy' | 'download' | 'local';
const APPEND: Record<Way, string> = { lazy: 'console=ttyS0', download: 'console=ttyS0 ib.toram', local: 'console=ttyS0 ib.root_device=/dev/vda' };

it('lazy root vs whole-image download vs local disk', async () => {
  const www = join(OUT, 'root-www');
  const root = await debianRoot();
  const pub = await bin(['publish', root, '--out', www, '--json']);
  if (pub.code !== 0) throw new Error(pub.stderr);
  const manifest = parseManifest(readFileSync(join(www, 'root.json'), 'utf8'));
  const nginx = await startNginx({ root: www, name: 'bench-root-nginx' });
  try {
    // The image for the local disk: read back through the daemon on this machine, so that it is
    // exactly the published one.
    const image = join(OUT, 'root-image.sqfs');
    const daemon = await buildBlockd(defaultCacheDir());
    const m = await startBlockd(daemon.daemon, ['--source', `${nginx.url('')}`, '--index-sha256', manifest.index.sha256, '--index-size', String(manifest.index.size)]);
    try {
      writeFileSync(image, readFileSync(m.image));
    } finally {
      await m.stop();
    }

    const initrd = join(OUT, 'root-initrd');
    writeFileSync(
      initrd,
      withRootHandover(readFileSync(join(www, manifest.miniroot.path)), {
        sources: [`${nginx.baseUrlForGuest}/`],
        index_sha256: manifest.index.sha256,
        index_size: manifest.index.size,
        mac: '52:54:00:12:34:56',
        address: '10.0.2.15/24',
        gateway: '10.0.2.2',
        dns: ['10.0.2.3'],
      }),
    );
    const kernel = join(www, manifest.kernel.path);

    const boot = async (way: Way, memoryMiB: number) => {
      writeFileSync(nginx.accessLog, '');
      const logFile = join(OUT, `root-${way}-${memoryMiB}.console.log`);
      let loginS: number | undefined;
      const t0 = Date.now();
      const r = await bootAndWatch({
        direct: { kernel, initrd, append: APPEND[way] },
        memoryMiB,
        expect: ' login: ',
        failOn: ['Kernel panic', 'ERROR: ', 'Out of memory'],
        // A machine too small may also hang rather than say so: the ladder's boots give up sooner.
        timeoutMs: memoryMiB === 1024 ? 600_000 : 240_000,
        logFile,
        extraArgs: way === 'local' ? ['-drive', `file=${image},format=raw,if=virtio,readonly=on`] : [],
        input: [{ when: 'login:', send: 'root\n' }],
        onLine: (line) => {
          if (loginS === undefined && / login: /.test(line)) loginS = (Date.now() - t0) / 1000;
        },
      });
      const served = accessLogRequests(nginx.accessLog);
      const bytes = served.reduce((n, q) => n + q.bytes, 0);
      const requests = served.length;
      return { ok: r.ok, seconds: loginS ?? r.elapsedMs / 1000, bytes, requests, logFile };
    };

    const results: Record<string, unknown> = { image_bytes: manifest.image_bytes, blocks: manifest.blocks };
    const row: Record<Way, { seconds: number; bytes: number; requests: number; minMiB?: number | string }> = {} as never;
    for (const way of ['local', 'lazy', 'download'] as Way[]) {
      const r = await boot(way, 1024);
      if (!r.ok) throw new Error(`${way} did not reach login: (${r.logFile})`);
      row[way] = { seconds: r.seconds, bytes: r.bytes, requests: r.requests };
      if (WITH_MEMORY) {
        let smallest: number | undefined;
        for (const mib of LADDER) {
          if (!(await boot(way, mib)).ok) break;
          smallest = mib;
        }
        row[way].minMiB = smallest ?? `> ${LADDER[0]}`;
      }
    }
    results.ways = row;
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, 'root.json'), `${JSON.stringify(results, null, 2)}\n`);
    const pct = (b: number) => `${((100 * b) / manifest.image_bytes).toFixed(1)}%`;
    const lines = [
      `image: ${manifest.image_bytes} bytes, ${manifest.blocks} blocks of ${manifest.block_size}`,
      '                       local    lazy  download   lazy/local  lazy/download',
      `to login: (s)      ${[row.local.seconds, row.lazy.seconds, row.download.seconds].map((x) => x.toFixed(1).padStart(8)).join('')}   ${(row.lazy.seconds / row.local.seconds).toFixed(2).padStart(9)}x  ${(row.lazy.seconds / row.download.seconds).toFixed(2).padStart(12)}x`,
      `served (MB)        ${[row.local.bytes, row.lazy.bytes, row.download.bytes].map((x) => (x / 1e6).toFixed(1).padStart(8)).join('')}`,
      `  of the image     ${[row.local.bytes, row.lazy.bytes, row.download.bytes].map((x) => pct(x).padStart(8)).join('')}`,
      `requests           ${[row.local.requests, row.lazy.requests, row.download.requests].map((x) => String(x).padStart(8)).join('')}`,
      ...(WITH_MEMORY ? [`smallest -m (MiB)  ${[row.local.minMiB, row.lazy.minMiB, row.download.minMiB].map((x) => String(x).padStart(8)).join('')}`] : []),
      '(served counts everything nginx sent: the index and blocks; the kernel and miniroot are given to QEMU directly)',
    ];
    console.log(lines.join('\n'));
    writeFileSync(join(OUT, 'root.txt'), `${lines.join('\n')}\n`);
  } finally {
    await nginx.stop();
  }
}, 7_200_000);
