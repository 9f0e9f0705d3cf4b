/**
 * Writes the JSON Schema files for outside consumers from the TypeBox source of truth.
 * `npm run contracts:generate` after changing a contract; a test fails while they drift.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishedSchemas } from './index.ts';

export const CONTRACTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'contracts', 'v1');

export function renderSchema(schema: unknown): string {
  // JSON.stringify drops TypeBox's symbol-keyed metadata, leaving plain JSON Schema.
  return JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...(schema as object) }, null, 2) + '\n';
}

export function generateAll(dir = CONTRACTS_DIR): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [file, schema] of Object.entries(publishedSchemas)) {
    writeFileSync(join(dir, file), renderSchema(schema));
    written.push(file);
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = generateAll();
  console.log(`wrote ${files.length} schemas to ${CONTRACTS_DIR}`);
}
