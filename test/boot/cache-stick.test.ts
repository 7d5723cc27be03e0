/**
 * One stick that boots and caches (build-iso --cache-partition), in QEMU (TCG): the image is the
 * only disk of the guest, a USB stick (usb-storage on xHCI, bootindex 0; no CD, no other disk),
 * booted on BIOS and on UEFI. The first boot of each gets the pinned target from nginx on
 * 127.0.0.1 (the guest's 10.0.2.2) and stores it on the stick's cache partition (read back with
 * mtools at the partition's offset, which sfdisk gives); with the server stopped, the second
 * boot (`inetboot smoke --usb`) comes from the cache. Each firmware has a copy of the stick of
 * its own. Console logs under test-output/cache-stick/.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAndWatch } from '../../src/qemu/boot.js';
import { cachedFile, cachePartitionOf, fsckPartition, type GptPartition } from '../helpers/cache-stick.js';
import { cli } from '../helpers/cli.js';
import type { NginxServer } from '../helpers/nginx.js';
import { outputDir } from '../helpers/paths.js';
import { serveTarget } from '../helpers/preboot.js';
import { TARGET_MARKER, targetLine, type TargetFiles } from '../helpers/target.js';
import { scaled } from '../helpers/timeouts.js';

const DIR = 'cache-stick';
const dir = outputDir(DIR);
const MIB = 1024 * 1024;
const SIZE = 64 * MIB;
const APPEND = 'console=ttyS0 stick=1';
const FIRMWARES = ['bios', 'uefi'] as const;
type Firmware = (typeof FIRMWARES)[number];

let nginx: NginxServer;
let target: TargetFiles;
let part: GptPartition & { offset: number };
const stickOf = (firmware: Firmware) => join(dir, `stick-${firmware}.img`);

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const requests = () => readFileSync(nginx.accessLog, 'utf8').split('\n').filter((l) => / "GET \//.test(l)).map((l) => / "GET (\S+)/.exec(l)?.[1]);

beforeAll(async () => {
  ({ target, nginx } = await serveTarget(DIR));
  const url = (p: string) => `${nginx.baseUrlForGuest}/${p}`;
  const cfg = join(dir, 'inetboot.yaml');
  writeFileSync(
    cfg,
    `timeout: 1
serial: true
entries:
  - id: pinned
    title: Pinned target
    kernel: {url: "${url('vmlinuz')}", sha256: "${target.kernelSha256}"}
    initrd: {url: "${url('target.img')}", sha256: "${target.initrdSha256}"}
    append: ${APPEND}
`,
  );
  const stick = join(dir, 'stick.img');
  const r = await cli('build-iso', '-c', cfg, '--cache-partition', '64M', '-o', stick);
  expect(r.code, r.stderr).toBe(0);
  part = await cachePartitionOf(stick, SIZE);
  for (const firmware of FIRMWARES) copyFileSync(stick, stickOf(firmware));
}, scaled(600_000));

afterAll(async () => {
  await nginx?.stop();
});

describe('one USB stick that boots and caches (build-iso --cache-partition)', () => {
  for (const firmware of FIRMWARES) {
    it(`${firmware}: the stick alone boots, downloads the pinned files and stores them on its cache partition`, async () => {
      const stick = stickOf(firmware);
      writeFileSync(nginx.accessLog, '');
      const logFile = join(dir, `${firmware}-first-boot.console.log`);
      const r = await bootAndWatch({ usbStick: stick, uefi: firmware === 'uefi', expect: TARGET_MARKER, failOn: ['Kernel panic'], timeoutMs: scaled(300_000), logFile });
      expect(r.ok, `${r.reason}\n${r.lastLines.join('\n')}`).toBe(true);
      const log = readFileSync(logFile, 'utf8');
      const dev = `/dev/sda${part.number}`;
      // The cache partition, not the ESP or the ISO's partitions, holds the cache.
      expect(log).toContain(`inetboot: cache: using inetboot-cache/ on ${dev} (vfat)`);
      expect(log).toMatch(new RegExp(`inetboot: cache: stored ${target.kernelSha256} \\(\\d+ bytes\\) on ${dev}\\b`));
      expect(log).toMatch(new RegExp(`inetboot: cache: stored ${target.initrdSha256} \\(\\d+ bytes\\) on ${dev}\\b`));
      expect(log).not.toContain('WARNING: cache');
      expect(targetLine(log, 'TARGET-CMDLINE')).toBe(APPEND);
      expect(targetLine(log, 'TARGET-EFI')).toBe(firmware === 'uefi' ? 'yes' : 'no');
      expect(requests()).toEqual(['/vmlinuz', '/target.img']);
      // Read back from the image at the partition's offset: the files, whole; the FAT clean.
      expect(sha256((await cachedFile(stick, part.offset, target.kernelSha256))!)).toBe(target.kernelSha256);
      expect(sha256((await cachedFile(stick, part.offset, target.initrdSha256))!)).toBe(target.initrdSha256);
      const fsck = await fsckPartition(stick, part.offset, SIZE);
      expect(fsck.code, fsck.output).toBe(0);
    }, scaled(400_000));
  }

  describe('with the server stopped', () => {
    beforeAll(async () => {
      await nginx.stop();
    });

    for (const firmware of FIRMWARES) {
      it(`${firmware}: smoke --usb boots the target from the stick's cache, and leaves the image as it was`, async () => {
        const stick = stickOf(firmware);
        const before = sha256(readFileSync(stick));
        const logFile = join(dir, `${firmware}-server-down.console.log`);
        const r = await cli('smoke', stick, '--usb', ...(firmware === 'uefi' ? ['--uefi'] : []), '--expect', TARGET_MARKER, '--fail-on', 'Kernel panic', '--timeout', String(scaled(300)), '--log', logFile);
        expect(r.code, `${r.stderr}\nconsole log: ${logFile}`).toBe(0);
        const log = readFileSync(logFile, 'utf8');
        expect(log).toContain(`inetboot: cache: using inetboot-cache/ on /dev/sda${part.number} (vfat)`);
        expect(log).toContain(`inetboot: kernel: from the local cache (sha256 ${target.kernelSha256})`);
        expect(log).toContain(`inetboot: initrd: from the local cache (sha256 ${target.initrdSha256})`);
        expect(log).not.toContain('inetboot: downloading');
        expect(targetLine(log, 'TARGET-CMDLINE')).toBe(APPEND);
        // smoke runs QEMU with -snapshot: the boot's writes never reach the image.
        expect(sha256(readFileSync(stick))).toBe(before);
      }, scaled(400_000));
    }
  });
});
