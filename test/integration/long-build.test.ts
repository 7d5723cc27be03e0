/**
 * longBuild (src/exec/run.ts) with a real program: the result it prints on stdout comes back,
 * all output goes to the log, and the progress its lines give reaches the logger until the end,
 * which clears it. The packer of publish relies on this ("pack: N of M MiB, K blocks").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ToolFailedError } from '../../src/errors.js';
import { longBuild } from '../../src/exec/run.js';
import { silentLogger } from '../../src/log.js';
import { testTempDir } from '../helpers/temp.js';

const SCRIPT = `
echo "pack: 64 of 128 MiB, 250 blocks" >&2
sleep 1.5
echo "pack: 128 of 128 MiB, 500 blocks" >&2
printf '{"blocks": 500}\\n'
`;

it('returns stdout, logs everything, reports progress from the lines, and clears it at the end', async () => {
  const logFile = join(testTempDir('inetboot-longbuild-'), 'build.log');
  const logger = silentLogger();
  const r = await longBuild('sh', ['-c', SCRIPT], { logFile, logger, progress: (line) => /(\d+ of \d+ MiB, \d+ blocks)/.exec(line)?.[1] });
  expect(JSON.parse(r.stdout)).toEqual({ blocks: 500 });
  const progress = logger.lines.filter((l) => l.startsWith('progress: '));
  expect(progress.some((l) => /^progress: sh: \ds: 64 of 128 MiB, 250 blocks$/.test(l))).toBe(true);
  expect(progress.at(-1)).toBe('progress: ');
  const log = readFileSync(logFile, 'utf8');
  expect(log).toContain('pack: 128 of 128 MiB, 500 blocks');
  expect(log).toContain('{"blocks": 500}');
});

it('a failure names the exit code and the lines that matter, and clears the progress', async () => {
  const logFile = join(testTempDir('inetboot-longbuild-'), 'build.log');
  const logger = silentLogger();
  const failed = longBuild('sh', ['-c', 'echo "error: no space left" >&2; exit 3'], { logFile, logger });
  await expect(failed).rejects.toThrow(ToolFailedError);
  await expect(failed).rejects.toThrow(/exited with code 3[\s\S]*error: no space left[\s\S]*full log: /);
  expect(logger.lines.at(-1)).toBe('progress: ');
});
