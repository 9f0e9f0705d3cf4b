import { defineConfig } from 'vitest/config';

// Four projects: `unit` (pure code, no servers, fast), `integration` (real Kafka, MinIO,
// InfluxDB, Mosquitto started by the project's own harness; a missing server fails the run),
// `soak` (the CI-length soak, `*.soak.test.ts`: the whole pipeline at 10,000 readings/s, which
// needs the machine to itself: groupOrder 1 runs it after the unit files, alone, and vitest runs
// the one-at-a-time integration files (fileParallelism false, groupOrder 0) as its last group) and `reliability`
// (the long fault and soak tests, `npm run test:reliability`; not in `npm test`).
// Integration files end in `.int.test.ts`, long reliability files in `.long.test.ts`, the soak in `.soak.test.ts`. The machine has two cores, so integration files run
// one at a time: they share one set of servers and are timing-sensitive.
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'test/**/*.long.test.ts', 'test/**/*.soak.test.ts', 'node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          sequence: { groupOrder: 0 },
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
          name: 'soak',
          sequence: { groupOrder: 1 },
          include: ['test/**/*.soak.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 1_800_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'reliability',
          sequence: { groupOrder: 2 },
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
