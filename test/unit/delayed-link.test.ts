/**
 * The benchmark's delayed link (bench/delayed-link.ts). delayedPipe: every frame arrives whole,
 * in order, and none sooner than the delay after it was sent; the end of the stream follows; a
 * length no frame has ends the link. withBlockingFd3: passt gets its socket blocking.
 */
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, expect, it } from 'vitest';
import { delayedPipe, socketPair, withBlockingFd3 } from '../../bench/delayed-link.js';
import { spawnLong } from '../../src/exec/run.js';
import { testTempDir } from '../helpers/temp.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

/** A connected pair of sockets (the link's own socketPair), through a temporary folder. */
async function pair(): Promise<[Socket, Socket]> {
  const sockets = await socketPair(join(testTempDir('inetboot-link-'), 's'));
  cleanups.push(() => sockets.forEach((s) => s.destroy()));
  return sockets;
}

/** A frame as QEMU's stream netdev and passt write it: its 4-byte big-endian length, then it. */
function frame(payload: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(payload.length);
  return Buffer.concat([length, payload]);
}

it('passes every frame whole and in order, none sooner than the delay, then the end', async () => {
  const DELAY = 40;
  const [sender, fromSender] = await pair();
  const [toReceiver, receiver] = await pair();
  const counter = delayedPipe(fromSender, toReceiver, DELAY);

  const frames = Array.from({ length: 20 }, (_, i) => frame(Buffer.alloc(60 + i * 71, i + 1)));
  const stream = Buffer.concat(frames);
  // Where each frame ends in the stream.
  const ends: number[] = [];
  frames.reduce((at, f) => (ends.push(at + f.length), at + f.length), 0);

  const received: Buffer[] = [];
  const arrivals: { at: number; upTo: number }[] = [];
  let total = 0;
  receiver.on('data', (d: Buffer) => {
    received.push(d);
    total += d.length;
    arrivals.push({ at: performance.now(), upTo: total });
  });
  const ended = new Promise((r) => receiver.once('end', r));

  // Written in pieces cut anywhere: inside lengths (1, 2 and 3 bytes of one), inside payloads.
  const cuts = [1, 3, 5, 66, 200, 201, 333, 1000, 1002, 2500, 4000, 7777, stream.length];
  const sent: { at: number; upTo: number }[] = [];
  let offset = 0;
  for (const cut of cuts) {
    sent.push({ at: performance.now(), upTo: cut });
    sender.write(stream.subarray(offset, cut));
    offset = cut;
    await new Promise((r) => setTimeout(r, 5));
  }
  sender.end();
  await ended;

  expect(Buffer.concat(received).equals(stream)).toBe(true);
  expect(counter.bytes).toBe(stream.length);
  // Nothing arrives before the write that completed it, plus the delay; and the stream is only
  // ever handed on at frame ends (a receiver's read may still join several writes).
  for (const a of arrivals) {
    const write = sent.find((s) => s.upTo >= a.upTo)!;
    expect(a.at - write.at).toBeGreaterThanOrEqual(DELAY);
  }
  expect(arrivals.length).toBeGreaterThan(1);
  expect(arrivals.every((a) => ends.includes(a.upTo))).toBe(true);
});

it('ends the link on a length no Ethernet frame has, instead of buffering for it', async () => {
  const [sender, fromSender] = await pair();
  const [toReceiver, receiver] = await pair();
  delayedPipe(fromSender, toReceiver, 1);
  const failed = new Promise<Error>((r) => fromSender.once('error', r));
  const ended = new Promise((r) => receiver.once('end', r));
  receiver.resume();
  sender.write(Buffer.concat([frame(Buffer.alloc(100, 7)), Buffer.from([0xff, 0xff, 0xff, 0xff])]));
  expect((await failed).message).toMatch(/a frame of 4294967295 bytes on the link/);
  await ended;
});

/** Runs a program that reports whether its fd 3 (a socket handed over by Node) is non-blocking. */
async function fd3Flags(wrap: boolean): Promise<string> {
  const [mine] = await pair();
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
