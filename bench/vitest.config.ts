import { defineConfig } from 'vitest/config';

// The benchmarks (scripts/bench.sh root): not part of the test suite. One file at a time, as
// the boot tests: they run QEMU under TCG.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    fileParallelism: false,
    testTimeout: 7_200_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
