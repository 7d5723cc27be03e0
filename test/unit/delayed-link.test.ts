/**
 * The benchmark's delaying forwarder (bench/delayed-link.ts, delayedPipe): every byte arrives,
 * in order, and none sooner than the delay after it was sent; the end of the stream follows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, expect, it } from 'vitest';
import { delayedPipe, withBlockingFd3 } from '../../bench/delayed-link.js';
import { spawnLong } from '../../src/exec/run.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

/** A connected pair of sockets over a unix socket in a temporary folder. */
async function socketPair(): Promise<[Socket, Socket]> {
  const dir = mkdtempSync(join(tmpdir(), 'inetboot-link-'));
  const path = join(dir, 's');
  const accepted = new Promise<Socket>((resolve) => {
    const server: Server = createServer(resolve);
    server.listen(path);
    cleanups.push(() => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    });
  });
  const client = connect(path);
  await new Promise((r) => client.once('connect', r));
  const other = await accepted;
  cleanups.push(() => {
    client.destroy();
    other.destroy();
  });
  return [client, other];
}

it('passes every byte in order, each chunk no sooner than the delay, then the end', async () => {
  const DELAY = 40;
  const [sender, fromSender] = await socketPair();
  const [toReceiver, receiver] = await socketPair();
  const counter = delayedPipe(fromSender, toReceiver, DELAY);

  const sent: { at: number; upTo: number }[] = [];
  const received: Buffer[] = [];
  const arrivals: { at: number; upTo: number }[] = [];
  let total = 0;
  receiver.on('data', (d: Buffer) => {
    received.push(d);
    total += d.length;
    arrivals.push({ at: performance.now(), upTo: total });
  });
  const ended = new Promise((r) => receiver.once('end', r));

  const chunks = Array.from({ length: 20 }, (_, i) => Buffer.alloc(1000 + i * 997, i));
  let offset = 0;
  for (const c of chunks) {
    offset += c.length;
    sent.push({ at: performance.now(), upTo: offset });
    sender.write(c);
    await new Promise((r) => setTimeout(r, 5));
  }
  sender.end();
  await ended;

  expect(Buffer.concat(received).equals(Buffer.concat(chunks))).toBe(true);
  expect(counter.bytes).toBe(offset);
  // What arrives cannot have left before the write that sent its first byte, plus the delay.
  let before = 0;
  for (const a of arrivals) {
    const write = sent.find((s) => s.upTo > before)!;
    expect(a.at - write.at).toBeGreaterThanOrEqual(DELAY);
    before = a.upTo;
  }
  expect(arrivals.length).toBeGreaterThan(1);
});

/** Runs a program that reports whether its fd 3 (a socket handed over by Node) is non-blocking. */
async function fd3Flags(wrap: boolean): Promise<string> {
  const [mine] = await socketPair();
  const probe = ['-MFcntl', '-e', 'open(my $s, "+<&=", 3) or die; print fcntl($s, F_GETFL, 0) & O_NONBLOCK ? "non-blocking" : "blocking"'];
  const p = wrap ? spawnLong(...withBlockingFd3('perl', probe), { passSockets: [mine] }) : spawnLong('perl', probe, { passSockets: [mine] });
  let out = '';
  p.child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  expect(await p.exited).toEqual({ code: 0, signal: null });
  return out;
}

it('hands passt its socket blocking, as its tap.c needs (Node hands it over non-blocking)', async () => {
  expect(await fd3Flags(false)).toBe('non-blocking');
  expect(await fd3Flags(true)).toBe('blocking');
});
