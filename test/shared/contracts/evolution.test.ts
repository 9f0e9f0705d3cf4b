import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type, type TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { publishedSchemas, Validator } from '../../../shared/contracts/index.ts';
import { CONTRACTS_DIR } from '../../../shared/contracts/generate.ts';

// The evolution rule (contracts/README.md): within v1 only additive, optional changes; anything a
// consumer could trip over is a v2. Checked here: every schema published now still accepts every
// fixture checked in for v1, and those fixtures are frozen (SHA256SUMS), so "fixing" a fixture
// instead of the schema shows up as a failure too.
const FIXTURES = join(CONTRACTS_DIR, 'fixtures');

/** Every fixture of one schema: `<name>.fixtures.json` and any later `<name>-N.fixtures.json`. */
function fixtures(schemaFile: string): unknown[] {
  const name = schemaFile.replace('.schema.json', '');
  const files = readdirSync(FIXTURES).filter((f) => f === `${name}.fixtures.json` || new RegExp(`^${name}-\\d+\\.fixtures\\.json$`).test(f));
  return files.flatMap((f) => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as unknown[]);
}

function rejected(schema: TSchema, values: unknown[]): number[] {
  const v = new Validator(schema);
  return values.flatMap((x, i) => (v.check(x) ? [] : [i]));
}

describe('contract evolution', () => {
  it('every published schema accepts every fixture of the published v1', () => {
    for (const [file, schema] of Object.entries(publishedSchemas)) {
      const values = fixtures(file);
      expect(values.length, file).toBeGreaterThan(0);
      expect(rejected(schema, values), `${file}: fixtures no longer accepted`).toEqual([]);
    }
  });

  it('the v1 fixtures are frozen: new ones are added in new files, never edited', () => {
    const sums = readFileSync(join(FIXTURES, 'SHA256SUMS'), 'utf8').trim().split('\n').map((l) => l.split(/\s+/) as [string, string]);
    const listed = new Map(sums.map(([hash, name]) => [name, hash]));
    for (const name of readdirSync(FIXTURES).filter((f) => f.endsWith('.json'))) {
      expect(listed.has(name), `${name} is listed in SHA256SUMS`).toBe(true);
      expect(createHash('sha256').update(readFileSync(join(FIXTURES, name))).digest('hex'), name).toBe(listed.get(name));
    }
    for (const file of Object.keys(publishedSchemas)) expect(listed.has(file.replace('.schema.json', '.fixtures.json')), file).toBe(true);
  });

  it('would catch a breaking change: a new required field, a narrower range, a removed value', () => {
    const readings = fixtures('reading.schema.json');
    const reading = publishedSchemas['reading.schema.json'];
    expect(rejected(Type.Composite([reading, Type.Object({ phaseAngle: Type.Number() })]), readings).length).toBeGreaterThan(0);
    expect(rejected(Type.Object({ ...reading.properties, voltage: Type.Number({ maximum: 200 }) }), readings).length).toBeGreaterThan(0);
    const events = fixtures('grid-event.schema.json');
    const event = publishedSchemas['grid-event.schema.json'];
    const noTamper = Type.Object({ ...event.properties, type: Type.Union(event.properties.type.anyOf.filter((t) => t.const !== 'tamper')) });
    expect(rejected(noTamper, events).length).toBeGreaterThan(0);
  });
});
