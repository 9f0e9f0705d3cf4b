// Lint is part of the test command: correctness rules only, formatting is not policed here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The adapter files of each library that talks to a server or a disk. */
const ADAPTERS = [
  { lib: 'aedes', files: ['edge/ingest/broker.ts'] },
  { lib: 'better-sqlite3', files: ['edge/store/edge-store.ts', 'edge/store/schema.ts', 'edge/store/statements.ts'] },
  { lib: 'kafkajs', files: ['shared/kafka/*.ts', 'central/consume/runner.ts', 'central/publish/producer.ts', 'edge/forward/forwarder.ts', 'deploy/services/kafka-acl.ts'] },
  { lib: 'minio', files: ['central/archive/sink-s3.ts'] },
  { lib: '@influxdata/influxdb-client', files: ['central/archive/influx.ts'] },
  { lib: 'mqtt', files: ['edge/ingest/upstream.ts', 'simulator/flood.ts', 'deploy/services/mosquitto.ts'] },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', 'contracts/**', 'deploy/grafana/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', Buffer: 'readonly', URL: 'readonly', AbortController: 'readonly', fetch: 'readonly', performance: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'smart'],
    },
  },
  // Adapters are thin and the only files that load the libraries that talk to servers or disks
  // (handbook STYLE.md). Type-only imports are erased at run time and allowed everywhere (the
  // consumer flows name kafkajs' Batch type). Tests and benchmarks drive the real things and may.
  {
    files: ['**/*.ts'],
    ignores: ['test/**', 'bench/**', ...ADAPTERS.flatMap((a) => a.files)],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: ADAPTERS.map((a) => ({ name: a.lib, allowTypeImports: true, message: `only the adapters ${a.files.join(', ')} may import ${a.lib} (eslint.config.js)` })),
        patterns: ADAPTERS.map((a) => ({ group: [`${a.lib}/*`], allowTypeImports: true, message: `only the adapters ${a.files.join(', ')} may import ${a.lib}` })),
      }],
    },
  },
  // Cores are pure (data and a clock in, results out): no logging, metrics, files, nor a barrel
  // that drags them in; they import the shared modules they need one by one.
  {
    files: ['edge/detect/**/*.ts', 'central/correlate/**/*.ts', 'simulator/model.ts', 'simulator/rng.ts', 'simulator/topology.ts'],
    ignores: ['**/bench.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['pino', 'prom-client', 'fs', 'node:fs', 'node:fs/promises', 'node-cron'].map((name) => ({ name, message: 'cores do no I/O: pass data and a clock in' })),
        patterns: [{ regex: '(^|/)shared/(index|logger|metrics|config|systemd)\\.ts$|(^|/)shared/topology/(index|load)\\.ts$|(^|/)shared/kafka/', message: 'cores import shared/contracts, shared/clock.ts, shared/errors.ts, shared/topology/model.ts directly, never a barrel that loads pino, prom-client or fs' }],
      }],
    },
  },
);
