/**
 * A picture of the guest's VGA screen, taken through QEMU's QMP socket (`screendump` with
 * `"format": "png"`, QEMU 7.1 and later; Debian 12's QEMU 7.2 is linked with libpng). Used by
 * `inetboot smoke --screenshot` and scripts/screenshots.sh.
 *
 * Facts this relies on (QEMU 7.2, tried here):
 * - `-nodefaults` removes the VGA card; a boot that is to be pictured gets `-vga std` back.
 *   With `-display none` the card still draws into its console surface, and screendump renders
 *   that surface (text mode included) at the moment of the command.
 * - QMP speaks one JSON object per line. After connecting, QEMU sends a greeting
 *   ({"QMP": ...}); nothing but `qmp_capabilities` is accepted until that is answered. Events
 *   ({"event": ...}) may arrive between a command and its answer and are skipped here.
 * - The socket is a path of QEMU's own (`-qmp unix:PATH,server=on,wait=off`): QEMU creates it
 *   before the guest starts and does not wait for a client.
 *
 * What QEMU says is never trusted: a line longer than MAX_LINE or an answer later than the
 * timeout ends the exchange with an error.
 */
import { connect, type Socket } from 'node:net';
import { OperationError } from '../errors.js';
import { qemuOptValue } from './boot.js';

const MAX_LINE = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 15_000;

/** QEMU's arguments for its QMP socket at `socketPath` (the VGA card comes from qemuArgs' `vga`). */
export function qmpArgs(socketPath: string): string[] {
  return ['-qmp', `unix:${qemuOptValue(socketPath)},server=on,wait=off`];
}

/**
 * Writes the VGA screen of the QEMU whose QMP socket is `socketPath` to `pngPath` (QEMU writes
 * the file itself, so the path must be one QEMU can write: absolute, in an existing directory).
 */
export async function screendump(socketPath: string, pngPath: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const qmp = await QmpSession.open(socketPath, timeoutMs);
  try {
    await qmp.execute('qmp_capabilities');
    await qmp.execute('screendump', { filename: pngPath, format: 'png' });
  } finally {
    qmp.close();
  }
}

type QmpMessage = { return?: unknown; error?: { class?: string; desc?: string }; event?: string; QMP?: unknown };

/** One QMP connection: commands one at a time, each answered by the next return or error. */
class QmpSession {
  private buffered = '';
  private readonly messages: QmpMessage[] = [];
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (s: string) => this.take(s));
    socket.on('error', (e) => this.fail(new OperationError(`QMP: ${e.message}`)));
    socket.on('close', () => this.fail(new OperationError('QMP: QEMU closed the connection')));
  }

  static async open(path: string, timeoutMs: number): Promise<QmpSession> {
    const socket = connect(path);
    const session = new QmpSession(socket, timeoutMs);
    const greeting = await session.next();
    if (greeting.QMP === undefined) throw new OperationError('QMP: no greeting from QEMU');
    return session;
  }

  private take(s: string): void {
    this.buffered += s;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      if (line === '') continue;
      try {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        this.messages.push(parsed as QmpMessage);
      } catch {
        return this.fail(new OperationError(`QMP: QEMU sent a line that is not a JSON object: ${line.slice(0, 200)}`));
      }
    }
    if (this.buffered.length > MAX_LINE) this.fail(new OperationError(`QMP: a line longer than ${MAX_LINE} bytes`));
    this.waiter?.();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.waiter?.();
  }

  /** The next message that is not an event. */
  private async next(): Promise<QmpMessage> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const m = this.messages.shift();
      if (m && m.event === undefined) return m;
      if (m) continue;
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new OperationError(`QMP: no answer from QEMU within ${this.timeoutMs / 1000} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve();
        };
      });
    }
  }

  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    const answer = await this.next();
    if (answer.error) throw new OperationError(`QMP ${command}: ${answer.error.desc ?? answer.error.class ?? 'error'}`);
    if (!('return' in answer)) throw new OperationError(`QMP ${command}: an answer with neither return nor error`);
    return answer.return;
  }

  close(): void {
    this.socket.destroy();
  }
}
