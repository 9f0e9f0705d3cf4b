import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOC, renderConfigReference } from '../../docs/config-reference.ts';
import { EdgeConfigSchema } from '../../edge/config.ts';
import { CentralConfigSchema } from '../../central/config.ts';
import { envName } from '../../shared/config.ts';

describe('configuration reference', () => {
  it('docs/configuration.md matches the config schemas (node --import tsx docs/config-reference.ts)', () => {
    expect(readFileSync(CONFIG_DOC, 'utf8')).toBe(renderConfigReference());
  });

  it('lists every variable of both programs', () => {
    const doc = readFileSync(CONFIG_DOC, 'utf8');
    for (const key of [...Object.keys(EdgeConfigSchema.properties), ...Object.keys(CentralConfigSchema.properties)]) {
      expect(doc).toContain('`' + envName(key) + '`');
    }
  });
});
