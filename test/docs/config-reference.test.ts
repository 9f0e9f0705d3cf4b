import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOC, renderConfigReference } from '../../docs/config-reference.ts';
import { EdgeConfigSchema } from '../../edge/config.ts';
import { CentralConfigSchema } from '../../central/config.ts';
import { envPath } from '../../shared/config.ts';
import { DEFAULT_DETECT_CONFIG } from '../../edge/detect/config.ts';
import { DEFAULT_CORRELATE_CONFIG } from '../../central/correlate/config.ts';

/** Every variable of a schema, nested sections walked (`detect.sigmaFloor.voltage` -> GRIDWATCH_DETECT_SIGMA_FLOOR_VOLTAGE). */
function variables(props: Record<string, unknown>, path: string[] = []): string[] {
  return Object.entries(props).flatMap(([key, prop]) => {
    const inner = (prop as { properties?: Record<string, unknown> }).properties;
    return inner ? variables(inner, [...path, key]) : [envPath([...path, key])];
  });
}

/** The same walk over a core's defaults object. */
function defaultsVariables(defaults: object, path: string[]): string[] {
  return Object.entries(defaults).flatMap(([key, value]) => (value !== null && typeof value === 'object' ? defaultsVariables(value as object, [...path, key]) : [envPath([...path, key])]));
}

describe('configuration reference', () => {
  it('docs/configuration.md matches the config schemas (node --import tsx docs/config-reference.ts)', () => {
    expect(readFileSync(CONFIG_DOC, 'utf8')).toBe(renderConfigReference());
  });

  it('lists every variable of both programs', () => {
    const doc = readFileSync(CONFIG_DOC, 'utf8');
    for (const name of [...variables(EdgeConfigSchema.properties), ...variables(CentralConfigSchema.properties)]) {
      expect(doc).toContain('`' + name + '`');
    }
  });

  it('lists every detector and correlator threshold with its default', () => {
    const doc = readFileSync(CONFIG_DOC, 'utf8');
    const all = [...defaultsVariables(DEFAULT_DETECT_CONFIG, ['detect']), ...defaultsVariables(DEFAULT_CORRELATE_CONFIG, ['correlate'])];
    expect(all.length).toBeGreaterThan(50);
    for (const name of all) expect(doc).toMatch(new RegExp('\\| `' + name + '` \\| .+? \\| `[^`]+` \\|'));
  });
});
