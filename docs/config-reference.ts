/**
 * Renders the configuration reference (docs/configuration.md) from the programs' config schemas,
 * the same schemas loadConfig validates against. A test fails when the file drifts.
 * Run: node --import tsx docs/config-reference.ts
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TObject } from '@sinclair/typebox';
import { configReference } from '../shared/config.ts';
import { EdgeConfigSchema } from '../edge/config.ts';
import { CentralConfigSchema } from '../central/config.ts';

export const CONFIG_DOC = join(dirname(fileURLToPath(import.meta.url)), 'configuration.md');

function table(schema: TObject): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = configReference(schema).map((r) => `| \`${r.variable}\` | ${esc(r.expected)} | ${esc(r.default === '(none)' ? '' : '`' + r.default + '`')} | ${esc(r.description)} |`);
  return ['| variable | expected | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

export function renderConfigReference(): string {
  return [
    '# Configuration reference',
    '',
    'Generated from the config schemas (`edge/config.ts`, `central/config.ts`) by',
    '`node --import tsx docs/config-reference.ts`; a test fails when this file drifts from them.',
    '',
    'Every setting is an environment variable. `GRIDWATCH_CONFIG` may name a JSON or YAML file',
    'whose keys are the camelCase names (`mqttPort` for `GRIDWATCH_MQTT_PORT`); environment',
    'variables win over the file. Values are validated once at start: a bad value stops the',
    'program with a message naming the variable and what was expected (exit code 78).',
    'Sections (`detect`, `correlate`) nest in the file (`detect: { sigmaFloor: { voltage: 0.005 } }`)',
    'and join the variable name (`GRIDWATCH_DETECT_SIGMA_FLOOR_VOLTAGE`); their cross-field rules and',
    'every cron schedule are checked by the same loader, before anything opens. A setting read under',
    'its former name is logged as a warning.',
    '',
    '## Edge gateway (`gridwatch edge`)',
    '',
    table(EdgeConfigSchema),
    '',
    '## Central aggregator (`gridwatch central`)',
    '',
    table(CentralConfigSchema),
    '',
    '## Everywhere',
    '',
    '| variable | expected | default | meaning |',
    '|---|---|---|---|',
    '| `GRIDWATCH_CONFIG` | a path | | JSON or YAML file with settings |',
    '| `GRIDWATCH_LOG_LEVEL` | trace, debug, info, warn, error, fatal | `info` | structured JSON log level |',
    '| `GRIDWATCH_CACHE_DIR` | a path | `~/.cache/gridwatch` | where `gridwatch services` provisions and runs the local servers |',
    '| `<NAME>_FILE` | a path | | for every setting marked secret: read its value from this file (Docker/Kubernetes secrets; a final newline is dropped). Setting both `<NAME>` and `<NAME>_FILE` is an error; errors name the variable, never the value ([security.md](security.md)) |',
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(CONFIG_DOC, renderConfigReference());
  console.log(`wrote ${CONFIG_DOC}`);
}
