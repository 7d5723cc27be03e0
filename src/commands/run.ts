/**
 * `inetboot run IMAGE`: boots an ISO (or, with --usb, a USB stick image) in QEMU with its
 * serial console in this terminal, for trying a medium by hand: the keys typed go to the guest
 * (Ctrl-C included, as on a real serial console) and Ctrl-] leaves, as in telnet. With
 * --serve DIR the guest reaches DIR as http://10.0.2.2:PORT/ (inetboot serve's server, on
 * 127.0.0.1); with --cache-disk IMG a cache stick (make-cache-disk) is plugged in; with
 * --display the VGA screen is shown in a window as well.
 *
 * QEMU runs as for smoke (src/qemu/boot.ts: TCG, user networking, q35), its console's bytes
 * passed through unchanged. The terminal is put into raw mode while the guest runs (so that
 * keys reach the guest one by one, unechoed), and restored on every way out.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { OperationError, UsageError, abortReason } from '../errors.js';
import { relevantOutput, spawnLong } from '../exec/run.js';
import { checkTools } from '../exec/tools.js';
import { checkOutputFile } from '../files/output.js';
import type { Terminal } from '../log.js';
import { prepareMachine, QEMU, qemuNeeds, usbStickArgs } from '../qemu/boot.js';
import { DEFAULT_PORT, startStaticServer, type StaticServer } from '../serve/server.js';
import type { CommandContext } from './context.js';
import { isFile, parseMemoryMiB, requireImage } from './qemu-options.js';
import { parsePort } from './serve.js';

/** Ctrl-]: leaves the console. */
export const LEAVE_KEY = 0x1d;

export interface RunOptions {
  uefi?: boolean;
  usb?: boolean;
  serve?: string;
  /** As typed. */
  port?: string;
  cacheDisk?: string;
  /** MiB, as typed. */
  memory: string;
  display?: boolean;
  /** Also write the console to this file. */
  log?: string;
}

export async function runCommand(image: string, opts: RunOptions, ctx: CommandContext, terminal: Terminal | undefined): Promise<void> {
  const { log, signal } = ctx;
  if (!terminal) throw new UsageError('run needs a terminal (or a pipe) for the console');
  requireImage(image, opts.usb);
  if (opts.cacheDisk !== undefined && !isFile(opts.cacheDisk)) throw new UsageError(`--cache-disk: ${opts.cacheDisk} is not a file: make one with inetboot make-cache-disk ${opts.cacheDisk} --size 1G`);
  const memoryMiB = parseMemoryMiB(opts.memory);
  if (opts.port !== undefined && opts.serve === undefined) throw new UsageError('--port: only with --serve DIR');
  const port = opts.port === undefined ? DEFAULT_PORT : parsePort(opts.port);
  if (opts.log !== undefined) checkOutputFile(opts.log, '--log', 'console.log');
  checkTools(qemuNeeds(opts.uefi));

  let server: StaticServer | undefined;
  const machine = prepareMachine({
    ...(opts.usb ? { usbStick: image, snapshot: true } : { iso: image }),
    uefi: opts.uefi,
    memoryMiB,
    window: opts.display,
    extraArgs: opts.cacheDisk ? usbStickArgs(opts.cacheDisk, 'cache') : [],
  });
  const logFd = opts.log === undefined ? undefined : openSync(opts.log, 'w');
  let restore: (() => void) | undefined;
  try {
    if (opts.serve !== undefined) {
      server = await startStaticServer({ root: opts.serve, port, onRequest: (e) => log.debug(`served ${e.method} ${e.path} ${e.status} (${e.bytes} bytes)`) });
      log.info(`serving ${server.root} on ${server.url}: the guest's ${server.guestUrl}`);
    }
    const firmware = opts.uefi ? 'UEFI' : 'BIOS';
    log.info(`QEMU (${firmware}, TCG, ${opts.memory} MiB): ${opts.usb ? 'USB stick, its writes discarded' : 'CD'} ${image}${opts.cacheDisk ? `, cache stick ${opts.cacheDisk}` : ''}`);
    log.info('The serial console follows; every key goes to the guest. Leave with Ctrl-] .');

    const qemu = spawnLong(QEMU, machine.args, { logger: log, signal });
    let stderr = '';
    qemu.child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-16_384)));
    qemu.child.stdout.on('data', (b: Buffer) => {
      terminal.write(b);
      if (logFd !== undefined) writeSync(logFd, b);
    });
    qemu.child.stdin.on('error', () => undefined); // QEMU gone: its exit is reported below

    const left = new Promise<'left'>((resolve) => {
      const onKeys = (b: Buffer) => {
        const at = b.indexOf(LEAVE_KEY);
        if (at < 0) return void qemu.child.stdin.write(b);
        if (at > 0) qemu.child.stdin.write(b.subarray(0, at));
        resolve('left');
      };
      terminal.input.on('data', onKeys);
      const raw = terminal.input.isTTY === true && typeof terminal.input.setRawMode === 'function';
      if (raw) terminal.input.setRawMode!(true);
      terminal.input.resume();
      restore = () => {
        terminal.input.off('data', onKeys);
        if (raw) terminal.input.setRawMode!(false);
        terminal.input.pause();
      };
    });
    const outcome = await Promise.race([left, qemu.exited.then((e) => ({ exited: e }))]);
    restore?.();
    restore = undefined;
    const exit = await qemu.stop();
    terminal.write(Buffer.from('\r\n'));
    if (signal?.aborted) throw abortReason(signal);
    if (outcome === 'left') {
      log.info('left the console; QEMU stopped');
      return;
    }
    if (exit.code === 0) {
      log.info('the guest powered off or rebooted (QEMU runs with -no-reboot); QEMU exited');
      return;
    }
    const detail = relevantOutput(stderr, 10);
    throw new OperationError(`QEMU exited with code ${exit.code}${detail ? `:\n${detail}` : ''}`, {
      hint: opts.display ? 'a window needs a graphical session (DISPLAY or WAYLAND_DISPLAY); without one, leave out --display' : undefined,
    });
  } finally {
    restore?.();
    if (logFd !== undefined) closeSync(logFd);
    await server?.close();
    machine.dispose();
  }
}
