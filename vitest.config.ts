import { defineConfig } from 'vitest/config';

// Three projects: `unit` (pure code, no servers, fast), `integration` (real Kafka, MinIO,
// InfluxDB, Mosquitto started by the project's own harness; a missing server fails the run) and
// `reliability` (the long fault and soak tests, `npm run test:reliability`; not in `npm test`).
// Integration files end in `.int.test.ts`, long reliability files in `.long.test.ts`. The machine has two cores, so integration files run
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
          exclude: ['test/**/*.int.test.ts', 'test/**/*.long.test.ts', 'node_modules/**'],
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
      {
        extends: true,
        test: {
          name: 'reliability',
          include: ['test/**/*.long.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 3_600_000,
          hookTimeout: 1_800_000,
        },
      },
    ],
  },
});
