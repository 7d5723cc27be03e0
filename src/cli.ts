/**
 * The command-line program. The only place that prints errors and sets exit codes:
 *   0  success
 *   1  failure (a tool failed or is missing, a download or boot failed)
 *   2  bad usage or bad config
 *   130, 143, 129  interrupted by SIGINT (Ctrl-C), SIGTERM or SIGHUP, after removing what was half written
 * and the only owner of process-wide state: runCli() turns SIGINT/SIGTERM into the AbortSignal
 * every command and every long operation below it is given.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { abortReason, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, INTERRUPT_EXIT, InetbootError, InterruptedError, type InterruptSignal } from './errors.js';
import { killLiveProcesses } from './exec/run.js';
import { removeTrackedTempsSync } from './files/temp.js';
import { consoleLogger, type Io } from './log.js';
import type { CommandContext } from './commands/context.js';
import { initCommand } from './commands/init.js';
import { addEntryCommand } from './commands/add-entry.js';
import { listCommand } from './commands/list.js';
import { removeEntryCommand } from './commands/remove-entry.js';
import { setDefaultCommand } from './commands/set-default.js';
import { menuCommand } from './commands/menu.js';
import { buildIsoCommand, DEFAULT_ISO, DEFAULT_STICK } from './commands/build-iso.js';
import { buildPrebootCommand } from './commands/build-preboot.js';
import { PREBOOT_BACKENDS } from './config/schema.js';
import { smokeCommand } from './commands/smoke.js';
import { makeCacheDiskCommand } from './commands/make-cache-disk.js';
import { publishCommand } from './commands/publish.js';
import { serveCommand } from './commands/serve.js';
import { doctorCommand } from './commands/doctor.js';
import { DEMO_DIR, demoCommand } from './commands/demo.js';
import { runCommand } from './commands/run.js';
import { DEFAULT_PORT, GUEST_HOST } from './serve/server.js';
import { DEFAULT_KEEP } from './pipeline/publish/versions.js';
import { VERSION } from './version.js';

export const DEFAULT_CONFIG = 'inetboot.yaml';

const EXIT_HELP = `
Exit codes:
  0    success
  1    failure: a tool is missing or failed, a download or verification failed, a smoke boot missed its marker
  2    bad usage or bad config (the message names the file, line and key)
  130  interrupted (Ctrl-C, SIGINT); 143: SIGTERM; 129: SIGHUP. Temporary files are removed, earlier outputs stay as they were

Config: ./${DEFAULT_CONFIG} unless -c/--config names another file.
Precedence: built-in defaults < config file < command-line flags.`;

export type { Io };

const processIo: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  stderrIsTTY: process.stderr.isTTY === true,
  terminal: { input: process.stdin, write: (b) => process.stdout.write(b) },
};

function configOption(): Option {
  return new Option('-c, --config <path>', 'config file').default(DEFAULT_CONFIG);
}

export function buildProgram(io: Io, signal?: AbortSignal): Command {
  const program = new Command('inetboot');
  program
    .description('Build boot media that boot operating systems from ordinary web servers:\nGRUB menu -> BusyBox preboot (DHCP, wget, sha256) -> kexec into the chosen kernel.')
    .version(VERSION)
    .option('-v, --verbose', 'show every command run')
    .option('-q, --quiet', 'show only warnings and errors')
    .addHelpText('after', EXIT_HELP)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  const ctx = (): CommandContext => ({ log: consoleLogger(io, { ...program.opts(), tty: io.stderrIsTTY }), signal });

  program
    .command('init')
    .description('write a commented example config')
    .addOption(configOption())
    .option('-f, --force', 'overwrite an existing config')
    .action(async (opts) => initCommand(opts, ctx()));

  program
    .command('add-entry')
    .description('add a menu entry to the config, keeping its comments and layout')
    .addOption(configOption())
    .requiredOption('--id <id>', 'entry id: [a-z0-9][a-z0-9._-]*')
    .requiredOption('--title <title>', 'menu title')
    .option('--kernel <url>', 'http(s) URL of the kernel (or --root)')
    .option('--kernel-sha256 <hex>', 'sha256 the kernel must have')
    .option('--initrd <url>', 'http(s) URL of the initrd')
    .option('--initrd-sha256 <hex>', 'sha256 the initrd must have')
    .option('--root <url>', 'http(s) URL of the root.json of a root made by inetboot publish (instead of --kernel)')
    .option('--root-sha256 <hex>', 'sha256 of that root.json, as inetboot publish printed it (required with --root)')
    .option('--append <args>', "the target kernel's command line")
    .option('--default', 'make this the default entry')
    .addHelpText('after', '\nExample:\n  inetboot add-entry --id debian --title "Debian 12 installer" \\\n    --kernel http://10.0.2.2:8080/linux --initrd http://10.0.2.2:8080/initrd.gz --append "console=ttyS0"\n  inetboot add-entry --id debian-live --title "Debian 12 (root over HTTP)" \\\n    --root http://10.0.2.2:8080/debian12/root.json --root-sha256 HEX --append "console=ttyS0"')
    .action(async (opts) => addEntryCommand(opts, ctx()));

  program
    .command('list')
    .description('list the menu entries')
    .addOption(configOption())
    .option('--json', 'print JSON (the normalised config) instead of a table')
    .action(async (opts) => listCommand(opts, io.stdout));

  program
    .command('remove-entry')
    .description('remove a menu entry from the config')
    .addOption(configOption())
    .argument('<id>', 'entry id')
    .action(async (id, opts) => removeEntryCommand(id, opts, ctx()));

  program
    .command('set-default')
    .description('make an entry the one booted after the menu\'s timeout')
    .addOption(configOption())
    .argument('<id>', 'entry id')
    .action(async (id, opts) => setDefaultCommand(id, opts, ctx()));

  program
    .command('menu')
    .description('print the generated grub.cfg')
    .addOption(configOption())
    .action(async (opts) => menuCommand(opts, io.stdout));

  program
    .command('build-iso')
    .description('build a hybrid BIOS+UEFI ISO (CD, or USB stick written with dd); with --cache-partition, a USB stick image that also caches')
    .addOption(configOption())
    .option('-o, --output <path>', `file to write (default: ${DEFAULT_ISO}, or ${DEFAULT_STICK} with --cache-partition)`)
    .option('--cache-partition <size>', 'write a USB stick image: the ISO, then a FAT partition of this size (e.g. 1G; at least 2M, whole MiB) for the local cache')
    .option('--cache-dir <dir>', 'where downloaded Debian packages are kept (default: $XDG_CACHE_HOME/inetboot or ~/.cache/inetboot)')
    .option('--keep-workdir', 'keep the build directory and print its path')
    .addOption(prebootBackendOption())
    .addOption(backendAlias())
    .option('--kernel-source <dir|tarball>', 'kernel-source backend: a Linux source tree, e.g. /usr/src/linux-source-6.1.tar.xz')
    .option('--buildroot-dir <dir>', 'buildroot backend: a Buildroot source tree')
    .addOption(jobsOption())
    .option('--json', 'print what was built as one JSON object (path, kind, bytes, sha256, cache partition, preboot, entries) instead of the path')
    .addHelpText('after', STICK_HELP + BACKENDS_HELP)
    .action(async (opts) => {
      await buildIsoCommand({ ...opts, prebootBackend: opts.prebootBackend ?? opts.backend }, ctx(), io.stdout);
    });

  program
    .command('build-preboot')
    .description('build the preboot kernel and initramfs alone (DIR/vmlinuz, DIR/preboot.img)')
    .addOption(configOption())
    .option('-o, --output <dir>', 'directory to write vmlinuz and preboot.img to', 'preboot')
    .addOption(prebootBackendOption())
    .addOption(backendAlias())
    .option('--kernel-source <dir|tarball>', 'kernel-source backend: a Linux source tree, e.g. /usr/src/linux-source-6.1.tar.xz')
    .option('--buildroot-dir <dir>', 'buildroot backend: a Buildroot source tree')
    .addOption(jobsOption())
    .option('--cache-dir <dir>', 'where builds and downloaded packages are kept (default: $XDG_CACHE_HOME/inetboot or ~/.cache/inetboot)')
    .option('--json', 'print one JSON object (kernel, initramfs, backend, description, sizes) instead of the two paths')
    .addHelpText('after', BACKENDS_HELP)
    .action(async (opts) => {
      await buildPrebootCommand({ ...opts, backend: opts.prebootBackend ?? opts.backend }, ctx(), io.stdout);
    });

  program
    .command('smoke')
    .description('boot an ISO headless in QEMU and wait for a text on its serial console')
    .argument('<iso>', 'ISO to boot (or, with --usb, a USB stick image)')
    .requiredOption('--expect <text>', 'text that proves the boot worked')
    .option('--timeout <seconds>', 'give up after this many seconds', '300')
    .option('--uefi', 'boot with UEFI firmware (OVMF) instead of BIOS')
    .option('--usb', 'boot the image as a USB stick (xHCI) instead of a CD, e.g. one made by build-iso --cache-partition; its writes are discarded')
    .option('--log <file>', 'save the serial console here (default: <iso>.console.log)')
    .option('--fail-on <text>', 'stop early and fail when this text appears (may be repeated)', collect, [])
    .option('--memory <MiB>', 'guest memory', '1024')
    .option('--screenshot <file.png>', 'save a PNG of the VGA screen when the text appears, a --fail-on text appears or the time is up (the guest gets a VGA card)')
    .option('--json', 'print the outcome as one JSON object on stdout (also when the boot failed)')
    .option('--junit <file>', 'write the outcome as a JUnit XML report (one test case) for CI services')
    .addHelpText('after', SMOKE_HELP)
    .action(async (iso, opts) => {
      await smokeCommand(iso, opts, ctx(), io.stdout);
    });

  program
    .command('run')
    .description('boot an ISO in QEMU with its serial console in this terminal (keys go to the guest; Ctrl-] leaves)')
    .argument('<image>', 'ISO to boot (or, with --usb, a USB stick image)')
    .option('--uefi', 'boot with UEFI firmware (OVMF) instead of BIOS')
    .option('--usb', 'boot the image as a USB stick instead of a CD; its writes are discarded')
    .option('--serve <dir>', `serve DIR on 127.0.0.1 while the guest runs: the guest reaches it as http://${GUEST_HOST}:PORT/`)
    .option('--port <n>', `with --serve: the TCP port (default: ${DEFAULT_PORT}, the example config's); 0 picks a free one`)
    .option('--cache-disk <img>', 'plug in this image as a USB cache stick (made by make-cache-disk); the guest writes to it')
    .option('--memory <MiB>', 'guest memory', '1024')
    .option('--display', 'also show the VGA screen in a window (needs a graphical session)')
    .option('--log <file>', 'also write the console to this file')
    .addHelpText('after', RUN_HELP)
    .action(async (image, opts) => runCommand(image, opts, ctx(), io.terminal));

  program
    .command('make-cache-disk')
    .description('write a disk image with an empty local artifact cache (inetboot-cache/) for the preboot')
    .argument('<path>', 'image file to write (then dd it to a USB stick, or attach it to a VM)')
    .requiredOption('--size <size>', 'size of the image, e.g. 1G, 512M (at least 2M)')
    .option('--fs <type>', 'file system: vfat or ext4', 'vfat')
    .option('--force', 'replace an existing image file')
    .addHelpText('after', '\nThe whole image is one file system (no partition table) labelled INETBOOT.\nExample:\n  inetboot make-cache-disk cache.img --size 1G && dd if=cache.img of=/dev/sdX bs=4M conv=fsync')
    .action(async (path, opts) => {
      io.stdout((await makeCacheDiskCommand(path, opts, ctx())) + '\n');
    });

  program
    .command('publish')
    .description('publish a root file system to DIR, for booting it lazily over HTTP (its blocks fetched when read); or prune old versions from DIR')
    .argument('[rootdir]', 'the root file system: boot/vmlinuz-*, lib/modules/*, sbin/init (what debootstrap makes)')
    .option('--out <dir>', 'the tree to serve (created; a version there already lends its blocks)')
    .option('--block-size <size>', 'the average length the image is cut into blocks of (cut where the content says, so that a new version shares blocks with the last), a power of two from 64K to 1M', '256K')
    .option('--profile <file>', 'a boot profile recorded on a booted system (cat /run/inetboot/blocks/profile): its blocks are fetched ahead of the reads at boot; may be given more than once', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--prune <dir>', 'instead of publishing: remove from the tree DIR every file that none of the kept versions names')
    .option('--keep <n>', `with --prune: how many of the last published versions to keep (the one root.json names is always kept; default ${DEFAULT_KEEP})`)
    .option('--json', 'print the result as one JSON object')
    .option('--cache-dir <dir>', 'where the block daemon is built (default: $XDG_CACHE_HOME/inetboot or ~/.cache/inetboot)')
    .addHelpText(
      'after',
      '\nServe DIR with any static web server, and boot it from an entry with\n  root: {url: http://SERVER/DIR/root.json, sha256: "<the sha256 printed here>"}\n' +
        'Publishing a new version into the same DIR adds only its changed blocks; then\n  inetboot publish --prune DIR --keep 2\nremoves what neither of the last two versions uses.\n' +
        'A boot profile makes boots faster (its blocks are fetched ahead of the reads): boot the system once,\ncopy /run/inetboot/blocks/profile from it, and publish again with --profile FILE (every block is reused).',
    )
    .action(async (root, opts) => {
      io.stdout(await publishCommand(root, opts, ctx()));
    });

  program
    .command('serve')
    .description('serve a directory over HTTP on 127.0.0.1, for trying an ISO or a published tree in QEMU (not for production)')
    .argument('<dir>', 'the directory to serve')
    .option('--port <n>', `TCP port on 127.0.0.1 (default: ${DEFAULT_PORT}, the port of the example config); 0 picks a free one`)
    .addHelpText('after', SERVE_HELP)
    .action(async (dir, opts) => serveCommand(dir, opts, ctx(), io.stdout));

  program
    .command('doctor')
    .description('show, for every command, the tools it needs and whether they are installed (with the apt-get line), whether QEMU could use KVM, and the size of the cache')
    .option('--json', 'print the report as one JSON object')
    .option('--cache-dir <dir>', 'the cache to measure (default: $XDG_CACHE_HOME/inetboot or ~/.cache/inetboot)')
    .addHelpText('after', '\nExit 0 when every command has what it needs, 1 when something is missing (named on stderr,\nwith the Debian packages and the apt-get line that installs them).\nExample:\n  inetboot doctor\n  inetboot doctor --json | jq -r .apt_get')
    .action(async (opts) => {
      await doctorCommand(opts, ctx(), io.stdout);
    });

  program
    .command('demo')
    .description("see a medium work: Debian 12's network installer served from 127.0.0.1, the example config built into an ISO, booted headless in QEMU to the installer's first screen")
    .option('-o, --output <dir>', 'folder for everything it makes: www/ (the served files), inetboot.yaml, inetboot.iso, console.log, screen.png', DEMO_DIR)
    .option('--uefi', 'boot with UEFI firmware (OVMF) instead of BIOS')
    .option('--port <n>', `TCP port on 127.0.0.1 to serve the installer on (default: ${DEFAULT_PORT}, the example config's); 0 picks a free one`)
    .option('--timeout <seconds>', 'give up after this many seconds of booting', '600')
    .option('--cache-dir <dir>', 'where downloaded Debian packages are kept (default: $XDG_CACHE_HOME/inetboot or ~/.cache/inetboot)')
    .addHelpText('after', DEMO_HELP)
    .action(async (opts) => demoCommand(opts, ctx()));

  return program;
}

const RUN_HELP = `
The terminal is in raw mode while the guest runs: Ctrl-C, Ctrl-D and Tab reach the guest, as
on a real serial console. Ctrl-] stops QEMU and ends inetboot (exit 0); so does the guest
powering off or rebooting. QEMU runs under TCG with user networking (as smoke does), so the
guest reaches this machine's 127.0.0.1 as ${GUEST_HOST}.
Example:
  inetboot run demo/inetboot.iso --serve demo/www
  inetboot run stick.img --usb --uefi --cache-disk cache.img
`;

const DEMO_HELP = `
The installer is Debian's own, unmodified: the text-mode kernel and initrd of the package
debian-installer-12-netboot-amd64, fetched with apt-get download (from this machine's apt
sources) into the cache. Its sha256 is computed then and pinned in the demo's inetboot.yaml,
which is examples/inetboot.yaml with that one entry changed. The boot succeeds when the
installer's help line "<Tab> moves; <Space> selects; <Enter> activates buttons" appears on the
serial console (exit 0); the console log and a screenshot are kept either way. About 2 to 5
minutes without KVM.
`;

const SMOKE_HELP = `
Exit 0 when the text appears, 1 when it does not (timeout, QEMU exited, or a --fail-on text),
2 on bad usage. The console log is saved either way, and so are --screenshot, --json and
--junit (except after bad usage, when nothing boots). --json's object has: ok, reason (marker,
fail-text, timeout, qemu-exited), matched, expect, image, medium (cd, usb), firmware (bios,
uefi), elapsed_s, console_log, screenshot, screenshot_error, qemu_exit_code, last_lines.
Example (CI):
  inetboot smoke inetboot.iso --expect 'login:' --uefi --screenshot uefi.png \\
    --junit smoke-uefi.xml --json > smoke-uefi.json
`;

const SERVE_HELP = `
Listens on 127.0.0.1 only: other machines cannot reach it. A QEMU guest with user networking
(what smoke uses) reaches this machine's 127.0.0.1 as ${GUEST_HOST}, so the guest's URLs are
http://${GUEST_HOST}:PORT/... Both URLs are printed on stdout at start; one access-log line per
request (method, path, status, body bytes) goes to stderr. GET and HEAD, byte ranges, ETag and
Last-Modified (304); paths that leave DIR ("..", or a symbolic link out of it) are refused (403);
a directory is a plain-text listing. Runs until Ctrl-C or SIGTERM, then exits 0.
For production, use any real web server or CDN (README, "Serving"; examples/nginx/inetboot.conf).
Example:
  inetboot serve www --port 8080
  # in inetboot.yaml: kernel: http://${GUEST_HOST}:8080/linux
`;

const STICK_HELP = `
One stick that boots and caches (--cache-partition SIZE): the same hybrid ISO (BIOS and UEFI),
then a FAT partition of SIZE labelled INETBOOT with an empty inetboot-cache/ folder, listed in
the GPT after GRUB's own partitions. The preboot keeps its pinned downloads there, as on a disk
from make-cache-disk, and boots from them when the server cannot be reached. The image file is
SIZE plus the ISO (written in full). Example:
  inetboot build-iso -c inetboot.yaml --cache-partition 1G -o stick.img
  dd if=stick.img of=/dev/sdX bs=4M conv=fsync
`;

const BACKENDS_HELP = `
Preboot backends (--preboot-backend; --backend is the same option):
  debian         Debian's kernel package and the host's BusyBox (the default)
  kernel-source  a tiny kernel built from a Linux source tree (--kernel-source), cached
  buildroot      kernel and root filesystem from Buildroot (--buildroot-dir) with buildroot-overlay/`;

/** The one name of the backend option on build-iso and build-preboot; --backend is its alias. */
function prebootBackendOption(): Option {
  return new Option('--preboot-backend <backend>', 'who makes the preboot (overrides preboot.backend in the config)').choices(PREBOOT_BACKENDS);
}

function backendAlias(): Option {
  return new Option('--backend <backend>').choices(PREBOOT_BACKENDS).hideHelp().conflicts('prebootBackend');
}

function jobsOption(): Option {
  return new Option('--jobs <n>', 'parallel build jobs (kernel-source, buildroot; default: all cores)').argParser(positiveInt);
}

function positiveInt(value: string): number {
  if (!/^[1-9][0-9]{0,3}$/.test(value)) throw new InvalidArgumentError('must be a whole number from 1 to 9999');
  return Number(value);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Runs one command line and returns its exit code. `signal` stops the command (runCli aborts it
 * on SIGINT/SIGTERM); a command that finished before it noticed still counts as done.
 */
export async function main(argv: string[], io: Io = processIo, signal?: AbortSignal): Promise<number> {
  let program: Command | undefined;
  try {
    program = buildProgram(io, signal);
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (err) {
    if (signal?.aborted && !(err instanceof CommanderError)) {
      const reason = abortReason(signal);
      io.stderr(`inetboot: ${reason.message}\n`);
      return reason instanceof InetbootError ? reason.exitCode : INTERRUPT_EXIT.SIGINT;
    }
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT_OK;
      // commander has printed its message already.
      return EXIT_USAGE;
    }
    if (err instanceof InetbootError) {
      io.stderr(`inetboot: error: ${err.message}\n`);
      if (err.hint) io.stderr(`hint: ${err.hint}\n`);
      return err.exitCode;
    }
    const e = err as Error;
    io.stderr(`inetboot: internal error (a bug, please report it): ${e?.stack ?? String(err)}\n`);
    return EXIT_FAILURE;
  }
}

/**
 * The program as bin/inetboot.js runs it: SIGINT and SIGTERM abort the command, which ends its
 * child processes and removes its temporary files before main() returns (exit 130/143). A second
 * signal does not wait for that: the children are killed and the temporary files removed at
 * once (files/temp.ts). Children still running when Node exits are killed.
 */
export async function runCli(argv: string[]): Promise<number> {
  // A reader that stops early (`inetboot list --json | head -1`) closes the pipe: the rest of
  // the output has nowhere to go, which is not an error of the command (as with cat or ls).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      stream.destroy();
    });
  }
  const controller = new AbortController();
  const handlers = (Object.keys(INTERRUPT_EXIT) as InterruptSignal[]).map((sig) => {
    const handler = () => {
      if (controller.signal.aborted) {
        killLiveProcesses();
        removeTrackedTempsSync();
        process.exit(INTERRUPT_EXIT[sig]);
      }
      processIo.stderr(`\ninetboot: ${sig}: stopping, removing temporary files (send it again to quit at once)\n`);
      controller.abort(new InterruptedError(sig));
    };
    process.on(sig, handler);
    return [sig, handler] as const;
  });
  process.on('exit', killLiveProcesses);
  try {
    return await main(argv, processIo, controller.signal);
  } finally {
    for (const [sig, handler] of handlers) process.removeListener(sig, handler);
  }
}
