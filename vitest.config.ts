import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure code, no servers, fast) and `integration` (real Kafka, MinIO,
// InfluxDB, Mosquitto started by the project's own harness; a missing server fails the run).
// Integration files end in `.int.test.ts`. The machine has two cores, so integration files run
// one at a time: they share one set of servers and are timing-sensitive.
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 1_800_000,
        },
      },
    ],
  },
});
