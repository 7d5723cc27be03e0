/**
 * Boots an ISO headless in QEMU and watches its serial console for a marker text.
 * Used by `inetboot smoke` (which CI jobs call) and by the boot tests.
 *
 * Library code: it never prints and never exits; it reports through the Logger and its result.
 *
 * Quirks this module works around (QEMU 7.2, OVMF 2022.11, GRUB 2.06 on Debian 12):
 * - KVM does not work on the machines this was written on, so the machine is always TCG.
 * - GRUB on a serial terminal draws with ANSI escapes: a marker printed by `echo` arrives as
 *   `ESC[H ESC[J ESC[1;1H SMOKE-MARKER-42`, and OVMF clears the screen with `ESC[2J ESC[01;01H`
 *   many times. Texts are matched both in the raw bytes and after stripping the escapes.
 * - Under TCG the serial port is written one byte at a time, so the pipe delivers tiny chunks
 *   and a marker is nearly always split across chunks: matching keeps the tail of the stream.
 * - `-nodefaults` drops the default VGA, floppy, CD-ROM and NIC, so the CD-ROM and the NIC are
 *   added explicitly; on q35 an `if=ide` drive lands on the ICH9 AHCI controller, which both
 *   SeaBIOS and OVMF boot from.
 * - `-drive file=...` splits its value at commas; a path with a comma must write it as `,,`.
 * - OVMF needs its variable store writable; each boot gets a fresh copy in a temporary
 *   directory so that boots never share (or corrupt) NVRAM state.
 * - What reaches the serial port before grub.cfg runs differs by firmware. OVMF mirrors its
 *   console to the serial port, so its boot messages, GRUB's "Welcome to GRUB!" and any GRUB
 *   error before `terminal_output serial` are in the log. With SeaBIOS and no VGA
 *   (-nodefaults) the serial port stays silent until grub.cfg switches GRUB's output to it:
 *   a BIOS boot that fails early leaves an empty log.
 * - QEMU catches SIGTERM and exits 0 ("terminating on signal 15"); it does NOT exit when its
 *   stdin (the serial input) reaches EOF. So if this Node process is SIGKILLed, QEMU is left
 *   running; every other way out ends it: a marker, the timeout, the AbortSignal (the CLI aborts
 *   it on SIGINT/SIGTERM), and the CLI's 'exit' handler (killLiveProcesses in exec/run.ts).
 * - Measured on a 2-core TCG machine, a GRUB `echo` marker appears about 0.3 s after QEMU starts
 *   on BIOS and about 5 s after on UEFI (OVMF's own start-up dominates).
 */
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { abortReason, OperationError } from '../errors.js';
import { spawnLong, type LongProcess } from '../exec/run.js';
import { checkTools, needs, type ToolNeed } from '../exec/tools.js';
import { replaceFile } from '../files/replace.js';
import type { Logger } from '../log.js';
import { qmpArgs, screendump } from './screenshot.js';

export const QEMU = 'qemu-system-x86_64';
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
export const DEFAULT_MEMORY_MIB = 1024;

/** What a boot needs: QEMU, and OVMF for UEFI. */
export function qemuNeeds(uefi?: boolean): ToolNeed[] {
  return uefi ? needs(QEMU, OVMF_CODE, OVMF_VARS) : needs(QEMU);
}

export interface BootOptions {
  /** The ISO to boot from (as a CD). One of this, `usbStick` and `direct`. */
  iso?: string;
  /** A disk image to boot from as a USB stick (usb-storage on xHCI, first in the boot order):
   * the image of build-iso --cache-partition, or an ISO written to a stick with dd. */
  usbStick?: string;
  /** QEMU's -snapshot: the guest's writes go to a temporary file, every image stays as it was. */
  snapshot?: boolean;
  /** Boot a kernel directly (QEMU's -kernel/-initrd/-append), as GRUB would: the tests use it
   * to start the preboot with a chosen `ib.entry=` without going through the menu. */
  direct?: DirectBoot;
  /** QEMU's network arguments; default: user networking (guest sees the host's loopback as 10.0.2.2) on virtio-net. */
  network?: string[];
  uefi?: boolean;
  /** The text that proves the boot worked. */
  expect: string;
  /** Texts that prove it failed ("Kernel panic"): stop early. */
  failOn?: string[];
  timeoutMs: number;
  /** The serial console is written here as it arrives (created or truncated). */
  logFile: string;
  memoryMiB?: number;
  /** Appended to QEMU's arguments. */
  extraArgs?: string[];
  /** The ISO's place in the firmware's boot order (QEMU's bootindex; default: the CD first, by
   * -boot d). Lets a test put a disk of its own (bootindex 0 in extraArgs) before the CD. */
  isoBootIndex?: number;
  logger?: Logger;
  /** Each console line, with ANSI escapes and carriage returns removed, and when it arrived. */
  onLine?: (line: string, at: LineTime) => void;
  /**
   * Keys typed on the serial console, in order: each `send` is written to QEMU's stdin (the
   * serial input) once its `when` text has appeared on the console after the previous step.
   */
  input?: ConsoleInput[];
  /** Stops the boot (QEMU is ended) and makes bootAndWatch throw the signal's reason. */
  signal?: AbortSignal;
  /**
   * A PNG of the VGA screen is written here when the boot ends on its marker, a fail text or
   * the timeout (not when QEMU exited by itself). The boot gets a VGA card for it
   * (src/qemu/screenshot.ts).
   */
  screenshot?: string;
  /**
   * Pictures taken during the boot: each `file` (PNG) when its `when` text has appeared on the
   * console, after the previous one's (README's pictures, scripts/screenshots.sh; the demo).
   */
  shots?: ScreenShot[];
}

export interface ScreenShot {
  when: string;
  file: string;
}

export interface ConsoleInput {
  when: string;
  send: string;
}

export type BootReason = 'marker' | 'fail-text' | 'timeout' | 'qemu-exited';

export interface BootResult {
  ok: boolean;
  reason: BootReason;
  /** The expect or fail-on text that was found. */
  matched?: string;
  /** From the start of QEMU to the match, the timeout or QEMU's exit. */
  elapsedMs: number;
  logFile: string;
  /**
   * QEMU's exit code. When the runner stopped it, this is 0: QEMU catches SIGTERM and exits
   * cleanly ("terminating on signal 15"); null only if it had to be SIGKILLed.
   */
  exitCode?: number | null;
  /** What QEMU wrote to stderr (its own errors, not the guest's), at most the last 64 KiB. */
  stderr: string;
  /** The last 50 console lines, ANSI escapes removed (the unfinished last line included). */
  lastLines: string[];
  /** The PNG written, when a screenshot was asked for and could be taken. */
  screenshot?: string;
  /** Why the screenshot asked for was not written. */
  screenshotError?: string;
  /** The `shots` whose text appeared: each written, or why not. */
  shots: { file: string; error?: string }[];
}

/**
 * The screen as `png`: QEMU writes a temporary file beside it, renamed when complete. A failure
 * is reported, not thrown: the boot's own outcome matters more than its picture.
 */
async function takeScreenshot(qmpSocket: string, png: string, signal?: AbortSignal): Promise<{ screenshot?: string; screenshotError?: string }> {
  try {
    await replaceFile(resolve(png), (tmp) => screendump(qmpSocket, tmp), { signal });
    return { screenshot: png };
  } catch (e) {
    return { screenshotError: (e as Error).message };
  }
}

/** Removes ANSI/VT100 escape sequences and control characters other than newline and tab. */
export function stripAnsi(text: string): string {
  const s = new AnsiStripper();
  return s.push(text);
}

/**
 * An ANSI escape remover that can be fed a stream piece by piece: a sequence split across
 * two pieces is still removed.
 */
export class AnsiStripper {
  private state: 'text' | 'esc' | 'csi' | 'osc' | 'osc-esc' | 'esc-intermediate' = 'text';

  push(input: string): string {
    let out = '';
    for (const ch of input) {
      const c = ch.codePointAt(0)!;
      switch (this.state) {
        case 'text':
          if (c === 0x1b) this.state = 'esc';
          else if (c === 0x9b) this.state = 'csi'; // 8-bit CSI
          else if (c === 0x0a || c === 0x09 || c >= 0x20) {
            if (c !== 0x7f) out += ch;
          }
          // other C0 controls (CR, BS, BEL, NUL, SI/SO) are dropped
          break;
        case 'esc':
          if (c === 0x5b) this.state = 'csi'; // ESC [
          else if (c === 0x5d) this.state = 'osc'; // ESC ]
          else if (c >= 0x20 && c <= 0x2f) this.state = 'esc-intermediate'; // ESC ( B and friends
          else this.state = 'text'; // two-character sequence (ESC 7, ESC c, ESC =, ...)
          break;
        case 'esc-intermediate':
          if (c < 0x20 || c > 0x2f) this.state = 'text';
          break;
        case 'csi':
          // parameters and intermediates are 0x20-0x3f; the final byte is 0x40-0x7e
          if (c >= 0x40 && c <= 0x7e) this.state = 'text';
          else if (c === 0x1b) this.state = 'esc';
          else if (c < 0x20 || c > 0x7e) this.state = 'text'; // malformed: give up on it
          break;
        case 'osc':
          if (c === 0x07) this.state = 'text';
          else if (c === 0x1b) this.state = 'osc-esc';
          break;
        case 'osc-esc':
          this.state = c === 0x5c ? 'text' : 'osc';
          break;
      }
    }
    return out;
  }
}

/**
 * When a console line reached this process, in ms from QEMU's start: its first character and
 * its newline. The two differ for a line printed in parts (iPXE's "http://...... ok" is written
 * before and after its download), and by the time the guest took to print it.
 */
export interface LineTime {
  startMs: number;
  endMs: number;
}

export interface StreamMatch {
  text: string;
  kind: 'expect' | 'fail';
}

/**
 * Watches a byte stream for a set of texts, in the raw bytes and in the text with ANSI
 * escapes removed, across chunk boundaries. Also splits the stripped text into lines.
 */
export class ConsoleWatcher {
  private readonly needles: { text: string; bytes: Buffer; kind: 'expect' | 'fail' }[];
  private readonly keep: number;
  private rawTail = Buffer.alloc(0);
  private textTail = '';
  private readonly decoder = new StringDecoder('utf8');
  private readonly stripper = new AnsiStripper();
  private partialLine = '';
  /** When the first character of the unfinished line came (undefined: none has yet). */
  private partialStart: number | undefined;
  private readonly recent: string[] = [];

  constructor(
    expect: string,
    failOn: readonly string[] = [],
    private readonly onLine?: (line: string, at: LineTime) => void,
    private readonly maxLines = 50,
  ) {
    // Fail texts first: when one chunk holds both, the failure wins (the safer verdict).
    this.needles = [...failOn.map((t) => ({ text: t, kind: 'fail' as const })), { text: expect, kind: 'expect' as const }]
      .filter((n) => n.text !== '')
      .map((n) => ({ ...n, bytes: Buffer.from(n.text, 'utf8') }));
    this.keep = Math.max(0, ...this.needles.map((n) => n.bytes.length)) - 1;
  }

  /**
   * Feeds a chunk that arrived at `atMs` (ms from QEMU's start; 0 when the caller keeps no
   * time); returns the first text found in it (with what came before), if any.
   */
  push(chunk: Buffer, atMs = 0): StreamMatch | undefined {
    const raw = this.rawTail.length > 0 ? Buffer.concat([this.rawTail, chunk]) : chunk;
    this.rawTail = Buffer.from(raw.subarray(Math.max(0, raw.length - this.keep)));

    const stripped = this.stripper.push(this.decoder.write(chunk));
    const text = this.textTail + stripped;
    this.textTail = text.slice(Math.max(0, text.length - this.keep));
    this.addLines(stripped, atMs);

    for (const n of this.needles) {
      if (raw.includes(n.bytes) || text.includes(n.text)) return { text: n.text, kind: n.kind };
    }
    return undefined;
  }

  /** The last lines, the unfinished one included. */
  lastLines(n = 20): string[] {
    const lines = this.partialLine === '' ? this.recent : [...this.recent, this.partialLine];
    return lines.slice(-n);
  }

  // A line starts with its first character: escapes and carriage returns are not text (GRUB and
  // OVMF send some right after a newline, long before the next line's words).
  private addLines(stripped: string, atMs: number): void {
    const parts = stripped.split('\n');
    parts.forEach((part, i) => {
      if (i > 0) {
        const line = this.partialLine;
        this.partialLine = '';
        this.recent.push(line);
        if (this.recent.length > this.maxLines) this.recent.shift();
        this.onLine?.(line, { startMs: this.partialStart ?? atMs, endMs: atMs });
        this.partialStart = undefined;
      }
      if (part !== '') {
        this.partialStart ??= atMs;
        this.partialLine += part;
      }
    });
  }
}

/** Escapes a value for QEMU's comma-separated option syntax. */
export function qemuOptValue(value: string): string {
  return value.replace(/,/g, ',,');
}

export interface DirectBoot {
  kernel: string;
  initrd?: string;
  append: string;
}

export const DEFAULT_NETWORK = ['-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0'];

/**
 * A disk image as a USB stick: usb-storage on an xHCI controller of its own (SeaBIOS and OVMF
 * both boot from it); `bootIndex` puts it in the firmware's boot order.
 */
export function usbStickArgs(path: string, id = 'stick', bootIndex?: number): string[] {
  return [
    '-device', `qemu-xhci,id=xhci-${id}`,
    '-drive', `if=none,id=${id},format=raw,file=${qemuOptValue(path)}`,
    '-device', `usb-storage,bus=xhci-${id}.0,drive=${id}${bootIndex === undefined ? '' : `,bootindex=${bootIndex}`}`,
  ];
}

export function qemuArgs(opts: {
  iso?: string;
  usbStick?: string;
  snapshot?: boolean;
  direct?: DirectBoot;
  memoryMiB: number;
  uefiVars?: string;
  network?: string[];
  extraArgs?: string[];
  isoBootIndex?: number;
  /** A VGA card; with `window`, shown in a window of QEMU's default display (GTK or SDL). */
  vga?: 'headless' | 'window';
}): string[] {
  const args = [
    '-machine', 'q35,accel=tcg',
    '-m', String(opts.memoryMiB),
    '-smp', '1',
    '-nodefaults',
    ...(opts.vga === 'window' ? [] : ['-display', 'none']),
    ...(opts.vga ? ['-vga', 'std'] : []),
    // signal=off: a Ctrl-C typed on the serial console is not taken as "quit QEMU"
    '-chardev', 'stdio,id=console,signal=off',
    '-serial', 'chardev:console',
    '-monitor', 'none',
    '-no-reboot',
  ];
  if (opts.uefiVars) {
    args.push(
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${qemuOptValue(OVMF_CODE)}`,
      '-drive', `if=pflash,format=raw,unit=1,file=${qemuOptValue(opts.uefiVars)}`,
    );
  }
  if (opts.iso && opts.isoBootIndex !== undefined) {
    args.push('-drive', `file=${qemuOptValue(opts.iso)},format=raw,media=cdrom,readonly=on,if=none,id=inetboot-cd`, '-device', `ide-cd,drive=inetboot-cd,bus=ide.0,bootindex=${opts.isoBootIndex}`);
  } else if (opts.iso) {
    args.push('-drive', `file=${qemuOptValue(opts.iso)},format=raw,media=cdrom,readonly=on,if=ide,index=0`, '-boot', 'd');
  }
  if (opts.usbStick) args.push(...usbStickArgs(opts.usbStick, 'inetboot-stick', 0));
  if (opts.direct) {
    args.push('-kernel', opts.direct.kernel, '-append', opts.direct.append);
    if (opts.direct.initrd) args.push('-initrd', opts.direct.initrd);
  }
  if (opts.snapshot) args.push('-snapshot');
  if (!opts.iso && !opts.usbStick && !opts.direct) throw new Error('internal: qemuArgs needs an ISO, a USB stick or a kernel to boot');
  args.push(...(opts.network ?? DEFAULT_NETWORK), ...(opts.extraArgs ?? []));
  return args;
}

const STDERR_KEEP = 64 * 1024;

/** What a QEMU run needs besides its process: its arguments and the temporary files made for them. */
export interface Machine {
  args: string[];
  /** The QMP socket, when one was asked for (screenshots). */
  qmpSocket?: string;
  /** Removes the temporary files (OVMF's variable store, the QMP socket's folder). */
  dispose(): void;
}

export type MachineOptions = Pick<BootOptions, 'iso' | 'usbStick' | 'snapshot' | 'direct' | 'uefi' | 'memoryMiB' | 'network' | 'extraArgs' | 'isoBootIndex'> & {
  /** A QMP socket for screendump (src/qemu/screenshot.ts), with a VGA card. */
  qmp?: boolean;
  /** A VGA card in a window. */
  window?: boolean;
};

/** The arguments of one QEMU run, with a fresh copy of OVMF's variable store for UEFI. */
export function prepareMachine(opts: MachineOptions): Machine {
  const tempDir = opts.uefi || opts.qmp ? mkdtempSync(join(tmpdir(), 'inetboot-qemu-')) : undefined;
  let uefiVars: string | undefined;
  try {
    if (opts.uefi) {
      uefiVars = join(tempDir!, 'OVMF_VARS.fd');
      copyFileSync(OVMF_VARS, uefiVars);
    }
    const qmpSocket = opts.qmp ? join(tempDir!, 'qmp.socket') : undefined;
    const args = qemuArgs({
      iso: opts.iso,
      usbStick: opts.usbStick,
      snapshot: opts.snapshot,
      direct: opts.direct,
      memoryMiB: opts.memoryMiB ?? DEFAULT_MEMORY_MIB,
      uefiVars,
      network: opts.network,
      extraArgs: [...(qmpSocket ? qmpArgs(qmpSocket) : []), ...(opts.extraArgs ?? [])],
      isoBootIndex: opts.isoBootIndex,
      vga: opts.window ? 'window' : opts.qmp ? 'headless' : undefined,
    });
    return { args, qmpSocket, dispose: () => tempDir && rmSync(tempDir, { recursive: true, force: true }) };
  } catch (e) {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Boots the ISO (or USB stick, or kernel) and resolves when `expect` appears on the serial console (ok), a `failOn` text
 * appears, the timeout passes, or QEMU exits. QEMU is ended on every path before this settles.
 * Throws MissingToolError when QEMU or OVMF is missing, and the signal's reason when aborted.
 */
export async function bootAndWatch(opts: BootOptions): Promise<BootResult> {
  if (opts.expect === '') throw new OperationError('bootAndWatch: the expect text is empty');
  checkTools(qemuNeeds(opts.uefi));

  mkdirSync(dirname(opts.logFile), { recursive: true });
  // Written synchronously chunk by chunk: the log is complete up to the last byte even if
  // this process is killed.
  const logFd = openSync(opts.logFile, 'w');
  let machine: Machine;
  try {
    machine = prepareMachine({ ...opts, qmp: opts.screenshot !== undefined || (opts.shots ?? []).length > 0 });
  } catch (e) {
    closeSync(logFd);
    throw e;
  }
  const { args, qmpSocket } = machine;
  const watcher = new ConsoleWatcher(opts.expect, opts.failOn ?? [], opts.onLine);
  const start = performance.now();
  let proc: LongProcess | undefined;
  let logOpen = true;
  let shotsTaken = Promise.resolve<{ file: string; error?: string }[]>([]);
  const cleanups: (() => void)[] = [];
  try {
    proc = spawnLong(QEMU, args, { logger: opts.logger, signal: opts.signal });
    const p = proc;

    let stderr = '';
    p.child.stderr.setEncoding('utf8');
    p.child.stderr.on('data', (s: string) => {
      stderr = (stderr + s).slice(-STDERR_KEEP);
    });

    type Outcome =
      | { kind: 'match'; match: StreamMatch; at: number }
      | { kind: 'timeout'; at: number }
      | { kind: 'exited'; at: number }
      | { kind: 'aborted' };
    const outcome = await new Promise<Outcome>((resolve, reject) => {
      let settled = false;
      const settle = (o: Outcome) => {
        if (settled) return;
        settled = true;
        resolve(o);
      };
      const steps = [...(opts.input ?? [])];
      let stepWatcher = steps[0] ? new ConsoleWatcher(steps[0].when) : undefined;
      const shots = [...(opts.shots ?? [])];
      let shotWatcher = shots[0] ? new ConsoleWatcher(shots[0].when) : undefined;
      p.child.stdout.on('data', (chunk: Buffer) => {
        if (logOpen) writeSync(logFd, chunk);
        if (settled) return;
        if (shotWatcher?.push(chunk) && qmpSocket) {
          const { file } = shots.shift()!;
          // One QMP client at a time: each picture waits for the one before.
          shotsTaken = shotsTaken.then(async (done) => {
            const r = await takeScreenshot(qmpSocket, file, opts.signal);
            return [...done, { file, ...(r.screenshotError ? { error: r.screenshotError } : {}) }];
          });
          shotWatcher = shots[0] ? new ConsoleWatcher(shots[0].when) : undefined;
        }
        // One step per chunk at most: the next step's text must come after this one's.
        if (stepWatcher?.push(chunk)) {
          p.child.stdin.write(steps.shift()!.send);
          stepWatcher = steps[0] ? new ConsoleWatcher(steps[0].when) : undefined;
        }
        const m = watcher.push(chunk, performance.now() - start);
        if (m) settle({ kind: 'match', match: m, at: performance.now() });
      });
      // setTimeout treats anything above 2^31-1 ms (24.8 days) as 1 ms.
      const timer = setTimeout(() => settle({ kind: 'timeout', at: performance.now() }), Math.min(opts.timeoutMs, 2 ** 31 - 1));
      cleanups.push(() => clearTimeout(timer));
      p.exited.then(
        () => settle({ kind: 'exited', at: performance.now() }),
        (err: unknown) => {
          if (!settled) {
            settled = true;
            reject(err);
          }
        },
      );
      if (opts.signal) {
        const onAbort = () => settle({ kind: 'aborted' });
        if (opts.signal.aborted) onAbort();
        opts.signal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => opts.signal?.removeEventListener('abort', onAbort));
      }
    });

    const shotsDone = await shotsTaken;
    const shot = opts.screenshot !== undefined && qmpSocket && outcome.kind !== 'exited' && outcome.kind !== 'aborted' && !opts.signal?.aborted ? await takeScreenshot(qmpSocket, opts.screenshot!, opts.signal) : {};
    const exit = await p.stop();
    // QEMU runs in a process group of its own (exec/run.ts), so a Ctrl-C in the terminal
    // reaches only inetboot, which aborts the signal: an aborted signal decides the outcome.
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    const base = { logFile: opts.logFile, stderr, lastLines: watcher.lastLines(50), exitCode: exit.code, shots: shotsDone, ...shot };
    switch (outcome.kind) {
      case 'match':
        return {
          ...base,
          ok: outcome.match.kind === 'expect',
          reason: outcome.match.kind === 'expect' ? 'marker' : 'fail-text',
          matched: outcome.match.text,
          elapsedMs: outcome.at - start,
        };
      case 'timeout':
        return { ...base, ok: false, reason: 'timeout', elapsedMs: outcome.at - start };
      case 'exited':
        return { ...base, ok: false, reason: 'qemu-exited', elapsedMs: outcome.at - start };
      default: // 'aborted': thrown above
        throw new OperationError('internal: the boot was aborted without an aborted signal');
    }
  } finally {
    for (const c of cleanups) c();
    if (proc?.running) await proc.stop({ signal: 'SIGKILL' }).catch(() => undefined);
    logOpen = false;
    closeSync(logFd);
    machine.dispose();
  }
}
