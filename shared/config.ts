import { readFileSync } from 'node:fs';
import { FormatRegistry, Kind, Type, type TObject, type TSchema, type Static } from '@sinclair/typebox';
import cron from 'node-cron';
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
  return ENV_PREFIX + snake(key);
}

/** The variable of a key inside nested sections: ['detect', 'sigmaFloor', 'voltage'] -> GRIDWATCH_DETECT_SIGMA_FLOOR_VOLTAGE. */
export function envPath(path: readonly string[]): string {
  return ENV_PREFIX + path.map(snake).join('_');
}

function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** A schema property that is a section of its own (a nested object of settings, a nested key in the file). */
function isSection(schema: TSchema): schema is TObject {
  return schema.type === 'object' && typeof schema.properties === 'object' && schema.properties !== null;
}

// Cron schedules are checked with the scheduler's own parser when the configuration is read,
// so that a bad one stops the program before any store, listener or client is opened.
if (!FormatRegistry.Has('cron')) FormatRegistry.Set('cron', (v) => cron.validate(v));

/** A node-cron schedule setting (seconds field allowed), validated by the loader. */
export function CronSetting(description: string, dflt: string, options: { formerly?: string } = {}) {
  return Type.String({ format: 'cron', default: dflt, description, ...options });
}

/** The `logLevel` setting of every program (GRIDWATCH_LOG_LEVEL), read by the same loader as the rest. */
export const logLevelSetting = Type.Union(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].map((l) => Type.Literal(l)), { default: 'info', description: 'Log level (pino)' });

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

/**
 * The text of a setting's variable; for a secret, `<NAME>_FILE`'s content when that is set. A
 * schema with its own `<key>File` setting (kafkaSaslPasswordFile) reads that file itself, and
 * `_FILE` of a setting that is not secret is refused rather than ignored.
 */
function settingText(name: string, key: string, prop: TSchema, siblings: TObject, st: ReadState): string | undefined {
  const text = st.env[name];
  const fileVar = st.env[`${name}_FILE`];
  if (fileVar === undefined || fileVar === '' || `${key}File` in siblings.properties) return text;
  if (!isSecretSetting(key, prop)) {
    st.problems.push(`${name}_FILE: only secret settings are read from a file; set ${name} itself`);
    return text;
  }
  if (text !== undefined && text !== '') {
    st.problems.push(`${name} and ${name}_FILE are both set: keep one`);
    return undefined;
  }
  const fromFile = readSecretFile(name, fileVar);
  if (fromFile instanceof Error) {
    st.problems.push(fromFile.message);
    return undefined;
  }
  return fromFile;
}

export interface ConfigSource {
  env?: NodeJS.ProcessEnv;
  /** Overrides the file named by GRIDWATCH_CONFIG. */
  file?: string;
  /** Values that win over everything (command-line flags). */
  overrides?: Record<string, unknown>;
  /**
   * Collects warnings (a setting read under its former name); the program logs them once its
   * logger exists. Without it they go to process.emitWarning.
   */
  warnings?: string[];
}

interface ReadState {
  env: NodeJS.ProcessEnv;
  file: string | undefined;
  problems: string[];
  warnings: string[];
}

/**
 * Reads one section (the top level or a nested object) from the environment and the file.
 * A property with `formerly: 'oldKey'` is also read under its old variable and file key, with a warning.
 */
function readSection(schema: TObject, path: string[], fromFile: Record<string, unknown>, st: ReadState): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const known = new Set(Object.keys(schema.properties));
  for (const [key, prop] of Object.entries(schema.properties) as [string, TSchema][]) {
    const here = [...path, key];
    if (isSection(prop)) {
      const sub = fromFile[key];
      if (sub !== undefined && (sub === null || typeof sub !== 'object' || Array.isArray(sub))) {
        st.problems.push(`${st.file}: "${here.join('.')}" must be a section (an object of settings)`);
        continue;
      }
      raw[key] = readSection(prop, here, (sub ?? {}) as Record<string, unknown>, st);
      continue;
    }
    const formerly = typeof prop.formerly === 'string' ? prop.formerly : undefined;
    if (formerly) known.add(formerly);
    const candidates: [string, string][] = [[key, envPath(here)], ...(formerly ? [[formerly, envPath([...path, formerly])] as [string, string]] : [])];
    const secret = isSecretSetting(key, prop);
    for (const [fileKey, name] of candidates) {
      const text = settingText(name, key, prop, schema, st);
      let found = false;
      if (text !== undefined && text !== '') {
        const coerced = coerce(text, prop);
        if (coerced === INVALID) st.problems.push(`${secret ? name : `${name}=${JSON.stringify(text)}`}: expected ${describe(prop)}`);
        else raw[key] = coerced;
        found = true;
      } else if (fileKey in fromFile) {
        raw[key] = fromFile[fileKey];
        found = true;
      }
      if (found) {
        if (fileKey !== key) st.warnings.push(`${name} (or file key "${[...path, fileKey].join('.')}") is deprecated: use ${envPath(here)} (file key "${here.join('.')}"), which means the same`);
        break;
      }
    }
  }
  for (const key of Object.keys(fromFile)) {
    if (!known.has(key)) st.problems.push(`${st.file}: unknown key "${[...path, key].join('.')}" (known: ${Object.keys(schema.properties).join(', ')})`);
  }
  return raw;
}

export function loadConfig<S extends TObject>(schema: S, source: ConfigSource = {}): Static<S> {
  const env = source.env ?? process.env;
  const file = source.file ?? env[ENV_PREFIX + 'CONFIG'];
  const fromFile = file ? readConfigFile(file) : {};
  const st: ReadState = { env, file, problems: [], warnings: [] };
  const raw = readSection(schema, [], fromFile, st);
  const problems = st.problems;
  Object.assign(raw, source.overrides ?? {});

  const withDefaults = Value.Default(schema, raw) as Record<string, unknown>;
  if (problems.length === 0) {
    const result = new Validator(schema).validate(withDefaults);
    if (!result.ok) {
      for (const p of result.problems) {
        const path = p.path.split('/').slice(1).filter((k) => k !== '');
        const prop = propertyAt(schema, path);
        problems.push(`${path.length > 0 ? envPath(path) : 'config'}: ${p.message}${prop && !isSection(prop) ? ` (expected ${describe(prop)})` : ''}`);
      }
    }
  }
  if (problems.length > 0) {
    throw new GridwatchError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, { details: { problems } });
  }
  if (source.warnings) source.warnings.push(...st.warnings);
  else for (const w of st.warnings) process.emitWarning(w, 'DeprecationWarning');
  return withDefaults as Static<S>;
}

function propertyAt(schema: TObject, path: readonly string[]): TSchema | undefined {
  let at: TSchema | undefined = schema;
  for (const key of path) at = at && isSection(at) ? (at.properties[key] as TSchema | undefined) : undefined;
  return at;
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
    if (schema.format === 'cron') return 'a node-cron schedule (seconds field allowed)';
    if (schema.pattern) return `a string matching ${schema.pattern}`;
    return 'a string';
  }
  return String(schema[Kind] ?? 'a value');
}

/** Rows for the configuration reference: variable, accepted values, default, description (sections flattened). */
export function configReference(schema: TObject, path: string[] = []): { variable: string; expected: string; default: string; description: string }[] {
  return Object.entries(schema.properties).flatMap(([key, prop]) => {
    const p = prop as TSchema;
    if (isSection(p)) return configReference(p, [...path, key]);
    const formerly = typeof p.formerly === 'string' ? ` (formerly ${envPath([...path, p.formerly])}, still read with a warning)` : '';
    return [{
      variable: envPath([...path, key]),
      expected: describe(p),
      default: p.default === undefined ? '(none)' : JSON.stringify(p.default),
      description: String(p.description ?? '') + formerly + (isSecretSetting(key, p) ? ` (secret: also ${envPath([...path, key])}_FILE)` : ''),
    }];
  });
}
