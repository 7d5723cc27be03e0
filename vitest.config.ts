import { defineConfig } from 'vitest/config';

// Boot tests run QEMU under TCG on a 2-core machine: files run one at a time so that
// two emulators never compete for the cores. Timeouts of boot tests scale with
// INETBOOT_TIMEOUT_FACTOR (see test/helpers/timeouts.ts), not here.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
