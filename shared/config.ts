import { readFileSync } from 'node:fs';
import { Kind, type TObject, type TSchema, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { GridwatchError } from './errors.ts';
import { Validator } from './contracts/validate.ts';

/**
 * Configuration is read once at start from GRIDWATCH_* environment variables, optionally on top
 * of a JSON or YAML file named by GRIDWATCH_CONFIG, and validated against the program's schema.
 * A bad value stops the program with a message naming the variable and what was expected.
 *
 * A key `mqttPort` in the schema is the variable GRIDWATCH_MQTT_PORT and the file key `mqttPort`.
 * Environment variables win over the file, the file over the schema's defaults.
 *
 * A secret setting (`secret: true` on its schema, or a key ending in Password, Secret or Token) is
 * also read from the file named by `<NAME>_FILE` (Docker and Kubernetes secrets), and an error
 * about it names the variable, never its value.
 */
export const ENV_PREFIX = 'GRIDWATCH_';

export function envName(key: string): string {
  return ENV_PREFIX + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** A secret string setting: `<NAME>_FILE` accepted, never echoed in errors, redacted in logs. */
export function isSecretSetting(key: string, schema: TSchema): boolean {
  return schema.secret === true || /(Password|Secret|Token)$/.test(key) || /^(password|secret|token)$/i.test(key);
}

/** The value of `<NAME>_FILE`: the file's text without its final newline (what `echo > file` adds). */
function readSecretFile(name: string, path: string): string | Error {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    return new Error(`${name}_FILE: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export interface ConfigSource {
  env?: NodeJS.ProcessEnv;
  /** Overrides the file named by GRIDWATCH_CONFIG. */
  file?: string;
  /** Values that win over everything (command-line flags). */
  overrides?: Record<string, unknown>;
}

export function loadConfig<S extends TObject>(schema: S, source: ConfigSource = {}): Static<S> {
  const env = source.env ?? process.env;
  const file = source.file ?? env[ENV_PREFIX + 'CONFIG'];
  const fromFile = file ? readConfigFile(file) : {};
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};

  for (const [key, prop] of Object.entries(schema.properties) as [string, TSchema][]) {
    const name = envName(key);
    const secret = isSecretSetting(key, prop);
    let text = env[name];
    // A schema with its own `<key>File` setting (e.g. kafkaSaslPasswordFile) reads that file itself.
    const secretFile = secret && !(`${key}File` in schema.properties) ? env[`${name}_FILE`] : undefined;
    if (!secret && !(`${key}File` in schema.properties) && env[`${name}_FILE`]) {
      problems.push(`${name}_FILE: only secret settings are read from a file; set ${name} itself`);
    }
    if (secretFile !== undefined && secretFile !== '') {
      const fromSecretFile = text !== undefined && text !== '' ? new Error(`${name} and ${name}_FILE are both set: keep one`) : readSecretFile(name, secretFile);
      if (fromSecretFile instanceof Error) {
        problems.push(fromSecretFile.message);
        continue;
      }
      text = fromSecretFile;
    }
    if (text !== undefined && text !== '') {
      const coerced = coerce(text, prop);
      if (coerced === INVALID) problems.push(`${secret ? name : `${name}=${JSON.stringify(text)}`}: expected ${describe(prop)}`);
      else raw[key] = coerced;
    } else if (key in fromFile) {
      raw[key] = fromFile[key];
    }
  }
  for (const key of Object.keys(fromFile)) {
    if (!(key in schema.properties)) problems.push(`${file}: unknown key "${key}" (known: ${Object.keys(schema.properties).join(', ')})`);
  }
  Object.assign(raw, source.overrides ?? {});

  const withDefaults = Value.Default(schema, raw) as Record<string, unknown>;
  if (problems.length === 0) {
    const result = new Validator(schema).validate(withDefaults);
    if (!result.ok) {
      for (const p of result.problems) {
        const key = p.path.split('/')[1] ?? '';
        const prop = schema.properties[key] as TSchema | undefined;
        problems.push(`${key ? envName(key) : 'config'}: ${p.message}${prop ? ` (expected ${describe(prop)})` : ''}`);
      }
    }
  }
  if (problems.length > 0) {
    throw new GridwatchError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, { details: { problems } });
  }
  return withDefaults as Static<S>;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `GRIDWATCH_CONFIG: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const parsed: unknown = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected an object at the top level');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `GRIDWATCH_CONFIG: ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`, { cause: err });
  }
}

const INVALID = Symbol('invalid');

function coerce(text: string, schema: TSchema): unknown {
  const type = schema.type as string | undefined;
  if (type === 'integer' || type === 'number') {
    const n = Number(text.trim());
    if (text.trim() === '' || !Number.isFinite(n)) return INVALID;
    return n;
  }
  if (type === 'boolean') {
    const t = text.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(t)) return true;
    if (['false', '0', 'no', 'off'].includes(t)) return false;
    return INVALID;
  }
  if (type === 'array') {
    const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const itemSchema = schema.items as TSchema | undefined;
    if (!itemSchema) return items;
    const out = items.map((i) => coerce(i, itemSchema));
    return out.includes(INVALID) ? INVALID : out;
  }
  return text;
}

/** A short human description of what a schema accepts, for error messages and the config reference. */
export function describe(schema: TSchema): string {
  if (schema.anyOf) return (schema.anyOf as TSchema[]).map(describe).join(' | ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const type = schema.type as string | undefined;
  if (type === 'integer' || type === 'number') {
    const lo = schema.minimum ?? schema.exclusiveMinimum;
    const hi = schema.maximum ?? schema.exclusiveMaximum;
    const range = lo !== undefined || hi !== undefined ? ` in ${lo ?? '-inf'}..${hi ?? 'inf'}` : '';
    return `${type === 'integer' ? 'an integer' : 'a number'}${range}`;
  }
  if (type === 'boolean') return 'true or false';
  if (type === 'array') {
    const item = schema.items as TSchema | undefined;
    return item && item.type !== 'string' ? `a comma-separated list of ${describe(item)}` : 'a comma-separated list';
  }
  if (type === 'string') {
    if (schema.pattern) return `a string matching ${schema.pattern}`;
    return 'a string';
  }
  return String(schema[Kind] ?? 'a value');
}

/** Rows for the configuration reference: variable, accepted values, default, description. */
export function configReference(schema: TObject): { variable: string; expected: string; default: string; description: string }[] {
  return Object.entries(schema.properties).map(([key, prop]) => ({
    variable: envName(key),
    expected: describe(prop as TSchema),
    default: (prop as TSchema).default === undefined ? '(none)' : JSON.stringify((prop as TSchema).default),
    description: String((prop as TSchema).description ?? '') + (isSecretSetting(key, prop as TSchema) ? ` (secret: also ${envName(key)}_FILE)` : ''),
  }));
}
