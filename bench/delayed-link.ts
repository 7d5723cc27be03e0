/**
 * A network link with a fixed added round-trip time that the guest's own TCP sees, meant for the
 * latency row of bench/ipxe.bench.ts (issue 11: "find a more faithful link").
 *
 * NOT USED YET: the latency row of bench/ipxe.bench.ts stays on QEMU's filter-buffer. What is
 * known: without BLOCKING_FD3 (below) passt loses the framing of its stream ("tap: partial
 * frame send") and the first download stalls for good after 0.6 to 1.2 MB, at any delay, 0 ms
 * included. With it, a boot of the iPXE medium at 50 ms still stalled in the first file (the
 * 8.2 MB kernel): nginx had sent it all, and passt's socket to nginx sat in CLOSE-WAIT with
 * 6.4 MB unread. The cause, from reading tap_handler_passt() in passt's tap.c: its loop
 * `while (n > sizeof(uint32_t))` leaves a frame's 4-byte length behind when a recv() ends inside
 * it, and the next recv() starts in the middle of a length. So delayedPipe now passes whole
 * frames only; with that, the tiny preboot at 50 ms downloaded the kernel completely (8.2 MB,
 * sha256 verified) but at 1.2 MB/s, slower than filter-buffer's 2.0, and the next connection
 * (the 200 MB initrd) was reset after 0 bytes. Next: passt's view of that reset (its messages
 * go to syslog, which its namespace cannot reach: "Failed to send ... to syslog"; try --debug
 * or a newer passt), and what holds the rate at 1.2 MB/s (the guest's window, or this
 * forwarder).
 *
 * Why not QEMU's own tools: QEMU's user networking (slirp) ends the guest's TCP inside QEMU, so
 * a delay on the host side of slirp is never seen by the guest's TCP; QEMU's filter-buffer on
 * the guest's netdev holds every packet and releases them all together every `interval`: a
 * batching link, on which every way measured the same 2.0 MB/s at +50 ms (the README's figures
 * before this link). netem would be the usual tool, but this machine's kernel has no sch_netem
 * ("Specified qdisc kind is unknown"), and a tap device would need addresses and a server off
 * 127.0.0.1.
 *
 * So the guest's Ethernet frames go through this process:
 *
 *   guest NIC -- QEMU `-netdev stream` (unix socket) -- delay, this file -- passt -- 127.0.0.1
 *
 * passt (Debian's `passt`, fetched with apt-get download into inetboot's cache like the iPXE
 * package) is a user-mode network like slirp: it answers the guest's DHCP (10.0.2.15/24, router
 * 10.0.2.2, MTU 1500 as on the internet) and maps connections to the router's address to the
 * host's loopback, so the guest reaches nginx on 127.0.0.1 as 10.0.2.2, as with slirp. Unlike
 * slirp it keeps no window of its own: it sends the guest what the guest's advertised window
 * allows and acknowledges to the server only what the guest acknowledged. QEMU's stream netdev
 * and passt speak the same framing (each frame after its 4-byte length); every run of whole
 * frames read from one side is written to the other `delayMs / 2` later, in order. No bandwidth
 * limit is added.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnLong, type LongProcess } from '../src/exec/run.js';
import { qemuOptValue } from '../src/qemu/boot.js';

/**
 * Runs ARGV with fd 3 made blocking. The socket Node hands a child is O_NONBLOCK (libuv sets it,
 * and the flag belongs to the open file, which the child shares), and this passt reads and
 * writes fd 3 as a blocking socket where a frame straddles the end of its buffer:
 * tap_send_remainder() in its tap.c sends the rest of a partly sent frame with a plain send(),
 * and tap_handler_passt() receives the rest of a partly read one with a plain recv(). On a
 * non-blocking socket these fail with EAGAIN ("tap: partial frame send"), the stream of
 * length-prefixed frames loses its framing, and the guest's download stalls for good (what
 * happened here after 0.6 to 1.2 MB, at any delay). perl-base is Essential in Debian, and its
 * Fcntl is all this needs.
 */
const BLOCKING_FD3 =
  'use Fcntl; open(my $s, "+<&=", 3) or die "fd 3: $!"; my $f = fcntl($s, F_GETFL, 0) or die "F_GETFL: $!"; ' +
  'fcntl($s, F_SETFL, $f & ~O_NONBLOCK) or die "F_SETFL: $!"; fcntl($s, F_SETFD, 0) or die "F_SETFD: $!"; ' +
  'exec { $ARGV[0] } @ARGV or die "$ARGV[0]: $!"';

/** The command and arguments (for spawnLong) that run `program` with fd 3 made blocking. */
export function withBlockingFd3(program: string, args: readonly string[]): [string, string[]] {
  return ['perl', ['-e', BLOCKING_FD3, program, ...args]];
}

/** The Debian package whose /usr/bin/passt startDelayedLink runs. */
export const PASST_PACKAGE = 'passt';

export interface DelayedLink {
  /** QEMU's -netdev and -device arguments for the guest's NIC (netdev id n0, virtio-net). */
  network: string[];
  /** Bytes passed each way so far. */
  readonly bytes: { toGuest: number; fromGuest: number };
  /** What passt printed (its addresses; why it stopped). */
  readonly passtOutput: string;
  close(): Promise<void>;
}

/** The longest frame delayedPipe passes on (a guest's jumbo frame would be 9018 bytes). */
const MAX_FRAME = 65_535;

/**
 * Forwards a stream of frames (each after its 4-byte big-endian length) from `from` to `to`:
 * whole frames only, each `delayMs` after its last byte arrived, in order. Returns a counter of
 * the bytes passed.
 */
export function delayedPipe(from: Socket, to: Socket, delayMs: number): { bytes: number } {
  const counter = { bytes: 0 };
  const queue: { due: number; data: Buffer }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.due <= now) {
      const { data } = queue.shift()!;
      counter.bytes += data.length;
      if (!to.destroyed) to.write(data);
    }
    if (queue.length > 0) timer = setTimeout(flush, Math.max(0, queue[0]!.due - now));
  };
  // Only whole frames are passed on (each after its 4-byte big-endian length, QEMU's stream
  // framing): passt's reader mishandles a length cut by a read's end (the header above).
  let pending: Buffer = Buffer.alloc(0);
  from.on('data', (data: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, data]) : data;
    let whole = 0;
    while (pending.length - whole >= 4) {
      const length = pending.readUInt32BE(whole);
      // An Ethernet frame here is at most the MTU (1500) plus headers: more is a broken stream.
      if (length > MAX_FRAME) return void from.destroy(new Error(`a frame of ${length} bytes on the link: the stream lost its framing`));
      if (pending.length - whole < 4 + length) break;
      whole += 4 + length;
    }
    if (whole === 0) return;
    queue.push({ due: performance.now() + delayMs, data: pending.subarray(0, whole) });
    pending = pending.subarray(whole);
    timer ??= setTimeout(flush, delayMs);
  });
  from.on('close', () => {
    // What is still queued goes out on time; then the other side is ended.
    const end = () => (queue.length > 0 ? setTimeout(end, delayMs) : to.end());
    end();
  });
  return counter;
}

/** A connected pair of unix sockets (Node has no socketpair()): through a listener in `dir`. */
async function socketPair(path: string): Promise<[Socket, Socket]> {
  rmSync(path, { force: true });
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect(path);
  await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
  const other = await accepted;
  // Stops listening; its callback would wait for these two connections to end.
  server.close();
  rmSync(path, { force: true });
  return [client, other];
}

/**
 * Starts passt and the delaying forwarder in `dir`, for one guest. `passt` is the path of
 * Debian's passt binary.
 */
export async function startDelayedLink(opts: { passt: string; dir: string; rttMs: number }): Promise<DelayedLink> {
  mkdirSync(opts.dir, { recursive: true });
  const linkSocket = join(opts.dir, 'link.socket');
  rmSync(linkSocket, { force: true });
  // passt is handed its end of a connected socket (--fd 3) instead of listening on a path of
  // its own: started as root, this version drops to "nobody" in mount and user namespaces of
  // its own, and the socket it says it bound is not in the host's file system.
  const [forPasst, toPasst] = await socketPair(join(opts.dir, 'pair.socket'));
  // IPv4 only, no DNS server or search list in its DHCP answer (--dns '' is refused by this
  // version), no port forwarded into the guest, frames of 1500 bytes.
  const passt: LongProcess = spawnLong(
    ...withBlockingFd3(opts.passt, [
      '--foreground', '--stderr', '--ipv4-only', '--fd', '3',
      '--address', '10.0.2.15', '--netmask', '24', '--gateway', '10.0.2.2', '--mtu', '1500',
      '--no-dhcp-dns', '--no-dhcp-search', '--tcp-ports', 'none', '--udp-ports', 'none',
    ]),
    { pkg: 'perl-base', passSockets: [forPasst] },
  );
  forPasst.destroy();
  let passtOutput = '';
  passt.child.stderr.setEncoding('utf8').on('data', (s: string) => (passtOutput += s));
  toPasst.on('error', () => undefined);

  let up = { bytes: 0 };
  let down = { bytes: 0 };
  let guest: Socket | undefined;
  const server: Server = createServer((g) => {
    if (guest) return void g.destroy(); // one guest
    guest = g;
    const half = opts.rttMs / 2;
    up = delayedPipe(g, toPasst, half);
    down = delayedPipe(toPasst, g, half);
    g.on('error', () => toPasst.destroy());
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(linkSocket, resolve));
  return {
    network: ['-netdev', `stream,id=n0,server=off,addr.type=unix,addr.path=${qemuOptValue(linkSocket)}`, '-device', 'virtio-net-pci,netdev=n0'],
    get bytes() {
      return { toGuest: down.bytes, fromGuest: up.bytes };
    },
    get passtOutput() {
      return passtOutput;
    },
    close: async () => {
      guest?.destroy();
      toPasst.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await passt.stop({ signal: 'SIGTERM', graceMs: 2_000 });
      rmSync(linkSocket, { force: true });
    },
  };
}
