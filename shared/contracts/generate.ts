/**
 * Writes the JSON Schema files for outside consumers from the TypeBox source of truth.
 * `npm run contracts:generate` after changing a contract; a test fails while they drift.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishedSchemas } from './index.ts';
import { FORWARDED_READING_AVRO_SCHEMA, FORWARDED_READING_BATCH_AVRO_SCHEMA } from './forwarded-reading-avro.ts';

export const CONTRACTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'contracts', 'v1');

export function renderSchema(schema: unknown): string {
  // JSON.stringify drops TypeBox's symbol-keyed metadata, leaving plain JSON Schema.
  return JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...(schema as object) }, null, 2) + '\n';
}

export const AVRO_FILE = 'forwarded-reading.avsc';

export const AVRO_BATCH_FILE = 'forwarded-reading-batch.avsc';
export function renderAvroSchema(): string {
  return JSON.stringify(FORWARDED_READING_AVRO_SCHEMA, null, 2) + '\n';
}
/** The batch schema (several readings per record), its item schema inlined as Avro requires in one file. */
export function renderAvroBatchSchema(): string {
  return JSON.stringify(FORWARDED_READING_BATCH_AVRO_SCHEMA, null, 2) + '\n';
}

export function generateAll(dir = CONTRACTS_DIR): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [file, schema] of Object.entries(publishedSchemas)) {
    writeFileSync(join(dir, file), renderSchema(schema));
    written.push(file);
  }
  // The binary encoding of grid.readings (Avro single-object; contracts/README.md).
  writeFileSync(join(dir, AVRO_FILE), renderAvroSchema());
  written.push(AVRO_FILE);
  writeFileSync(join(dir, AVRO_BATCH_FILE), renderAvroBatchSchema());
  written.push(AVRO_BATCH_FILE);
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = generateAll();
  console.log(`wrote ${files.length} schemas to ${CONTRACTS_DIR}`);
}
