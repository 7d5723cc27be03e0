/** One multiplier for every timeout in the boot and integration tests (slow machine: raise it). */
export const TIMEOUT_FACTOR = Number(process.env.INETBOOT_TIMEOUT_FACTOR ?? '1') || 1;

export function scaled(ms: number): number {
  return Math.round(ms * TIMEOUT_FACTOR);
}
