/**
 * The installed program with its output piped into a reader that stops early, as in
 * `inetboot doctor --json | head -1`: the closed pipe is the reader's choice, not an error, so
 * inetboot ends quietly (Node's default is an unhandled EPIPE error and a stack trace).
 */
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';

it('a reader that closes the pipe at once: exit 0, nothing on stderr', async () => {
  // `true` exits before Node has started, so every write of the help text meets a closed pipe.
  const r = await execa('bash', ['-c', `"$0" "$1" --help | true; echo "exit=\${PIPESTATUS[0]}" >&2`, process.execPath, BIN], { reject: false });
  expect(r.stderr).toBe('exit=0');
});
