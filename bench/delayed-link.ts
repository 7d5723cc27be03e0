/**
 * A network link with a fixed added round-trip time that the guest's own TCP sees: the latency
 * row of bench/ipxe.bench.ts (issue 11: "find a more faithful link").
 *
 * Why not QEMU's own tools: QEMU's user networking (slirp) ends the guest's TCP inside QEMU, so
 * a delay on the host side of slirp is never seen by the guest's TCP; QEMU's filter-buffer on
 * the guest's netdev holds every packet and releases them all together every `interval`: a
 * batching link, on which every way measured the same 2.0 MB/s at +50 ms (README: "Against
 * iPXE"). netem would be the usual tool, but this machine's kernel has no sch_netem
 * ("Specified qdisc kind is unknown"), and a tap device would need addresses and a server off
 * 127.0.0.1.
 *
 * So the guest's Ethernet frames go through this process:
 *
 *   guest NIC -- QEMU `-netdev stream` (unix socket) -- delay, this file -- passt -- 127.0.0.1
 *
 * passt (Debian 13's, built from its source package by bench/passt.ts, which says why not
 * Debian 12's) is a user-mode network like slirp: it answers the guest's DHCP (10.0.2.15/24, router
 * 10.0.2.2, MTU 1500 as on the internet) and maps connections to the router's address to the
 * host's loopback, so the guest reaches nginx on 127.0.0.1 as 10.0.2.2, as with slirp. Unlike
 * slirp it keeps no window of its own: it sends the guest what the guest's advertised window
 * allows and acknowledges to the server only what the guest acknowledged. QEMU's stream netdev
 * and passt speak the same framing (each frame after its 4-byte length); every run of whole
 * frames read from one side is written to the other `delayMs / 2` later, in order. No bandwidth
 * limit is added.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnLong, type LongProcess } from '../src/exec/run.js';
import { qemuOptValue } from '../src/qemu/boot.js';

/**
 * Runs ARGV with fd 3 made blocking. The socket Node hands a child is O_NONBLOCK (libuv sets it,
 * and the flag belongs to the open file, which the child shares), and passt writes fd 3 as a
 * blocking socket where a frame straddles the end of a send: in Debian 13's tap.c,
 * tap_send_frames() sends the rest of a partly sent frame with write_remainder(), which gives up
 * on EAGAIN ("tap: partial frame send"); Debian 12's did the same with tap_send_remainder(), and
 * also received the rest of a partly read frame with a plain recv(). On a non-blocking socket the
 * stream of length-prefixed frames then loses its framing, and the guest's download stalls for
 * good (what happened here with Debian 12's passt after 0.6 to 1.2 MB, at any delay).
 * perl-base is Essential in Debian, and its Fcntl is all this needs.
 */
const BLOCKING_FD3 =
  'use Fcntl; open(my $s, "+<&=", 3) or die "fd 3: $!"; my $f = fcntl($s, F_GETFL, 0) or die "F_GETFL: $!"; ' +
  'fcntl($s, F_SETFL, $f & ~O_NONBLOCK) or die "F_SETFL: $!"; fcntl($s, F_SETFD, 0) or die "F_SETFD: $!"; ' +
  'exec { $ARGV[0] } @ARGV or die "$ARGV[0]: $!"';

/** The command and arguments (for spawnLong) that run `program` with fd 3 made blocking. */
export function withBlockingFd3(program: string, args: readonly string[]): [string, string[]] {
  return ['perl', ['-e', BLOCKING_FD3, program, ...args]];
}

export interface DelayedLink {
  /** QEMU's -netdev and -device arguments for the guest's NIC (netdev id n0, virtio-net). */
  network: string[];
  /** Bytes passed each way so far. */
  readonly bytes: { toGuest: number; fromGuest: number };
  /** What passt printed on stderr (its messages go to dir/passt.log). */
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
  // framing). Debian 12's passt lost a length cut by the end of a read: tap_handler_passt()'s
  // `while (n > sizeof(uint32_t))` left it behind, and the next read started inside a length.
  // Debian 13's keeps a partial frame for the next read; whole frames suit either.
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
export async function socketPair(path: string): Promise<[Socket, Socket]> {
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
 * Starts passt and the delaying forwarder in `dir`, for one guest. `passt` is the path of the
 * passt binary (bench/passt.ts); `pcap` also has passt write every frame it sees to
 * dir/tap.pcap (what told the story of Debian 12's passt in bench/passt.ts).
 */
export async function startDelayedLink(opts: { passt: string; dir: string; rttMs: number; pcap?: boolean }): Promise<DelayedLink> {
  mkdirSync(opts.dir, { recursive: true });
  const logFile = join(opts.dir, 'passt.log');
  const pcap = join(opts.dir, 'tap.pcap');
  if (opts.pcap) {
    // passt opens it after it has become "nobody": made here, writable by it.
    writeFileSync(pcap, '');
    chmodSync(pcap, 0o666);
  }
  const linkSocket = join(opts.dir, 'link.socket');
  rmSync(linkSocket, { force: true });
  // passt is handed its end of a connected socket (--fd 3) instead of listening on a path of
  // its own: started as root, this version drops to "nobody" in mount and user namespaces of
  // its own, and the socket it says it bound is not in the host's file system.
  const [forPasst, toPasst] = await socketPair(join(opts.dir, 'pair.socket'));
  // IPv4 only, no DNS server or search list in its DHCP answer, no port forwarded into the
  // guest, frames of 1500 bytes; its messages to a file (to syslog, they would be lost: its
  // namespace has none). Its --debug is not used: Debian 12's crashed with it.
  const passt: LongProcess = spawnLong(
    ...withBlockingFd3(opts.passt, [
      '--foreground', '--log-file', logFile, '--ipv4-only', '--fd', '3',
      '--address', '10.0.2.15', '--netmask', '24', '--gateway', '10.0.2.2', '--mtu', '1500',
      '--no-dhcp-dns', '--no-dhcp-search', '--tcp-ports', 'none', '--udp-ports', 'none',
      ...(opts.pcap ? ['--pcap', pcap] : []),
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
