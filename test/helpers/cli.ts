/** Runs the inetboot CLI in-process (main() from src/cli.ts) and captures its output. */
import { main } from '../../src/cli.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const savedWrite = process.stderr.write.bind(process.stderr);
  // The console logger writes progress to process.stderr: capture it too.
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'inetboot', ...args], {
      stdout: (s) => {
        stdout += s;
      },
      stderr: (s) => {
        stderr += s;
      },
    });
    return { code, stdout, stderr };
  } finally {
    process.stderr.write = savedWrite;
  }
}
