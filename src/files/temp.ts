/**
 * The temporary files and directories inetboot has made and not yet removed (the .NAME.HEX.tmp
 * beside an output, a build's work directory). Each owner removes its own in a finally block;
 * this list is for the one path that cannot wait for that: a second SIGINT/SIGTERM, on which the
 * CLI exits at once and removes what is listed here synchronously (src/cli.ts runCli).
 */
import { rmSync } from 'node:fs';

const paths = new Set<string>();

export function trackTemp(path: string): void {
  paths.add(path);
}

export function untrackTemp(path: string): void {
  paths.delete(path);
}

/** Removes every listed path now (synchronously; errors ignored). */
export function removeTrackedTempsSync(): void {
  for (const p of paths) rmSync(p, { recursive: true, force: true });
  paths.clear();
}
