import { Type, type TObject, type TSchema } from '@sinclair/typebox';

/**
 * A settings section derived from a core's defaults object, so that a threshold added to a core's
 * config (and its defaults) becomes a setting by adding one description line: `Descriptions<T>`
 * makes the compiler ask for it. Numbers are settings >= 0 (the core's resolver checks integers,
 * ranges and cross-field rules when the loader calls it), booleans are booleans, nested objects
 * (per-channel values, per-level rules) are nested sections. An entry may give a full schema instead
 * of a description where the type needs more (an enumeration).
 */
export type Descriptions<T> = {
  [K in keyof T]-?: T[K] extends object ? string : string | TSchema;
};

/** The section's schema; its static type is the core's config type (filled in by the defaults). */
export interface TSection<T> extends TSchema {
  static: T;
  type: 'object';
  properties: Record<string, TSchema>;
}

export function sectionFromDefaults<T extends object>(defaults: T, descriptions: Descriptions<T>, what: string): TSection<T> {
  const props: Record<string, TSchema> = {};
  for (const [key, value] of Object.entries(defaults) as [string, unknown][]) {
    const d = (descriptions as Record<string, string | TSchema | undefined>)[key];
    if (d === undefined) throw new Error(`${what}: no description for ${key}`);
    if (typeof d !== 'string') props[key] = { ...d, default: value };
    else if (typeof value === 'number') props[key] = Type.Number({ minimum: 0, default: value, description: d });
    else if (typeof value === 'boolean') props[key] = Type.Boolean({ default: value, description: d });
    else if (typeof value === 'string') props[key] = Type.String({ default: value, description: d });
    else if (value !== null && typeof value === 'object') {
      const inner = Object.fromEntries(Object.keys(value).map((k) => [k, `${d}: ${k}`]));
      props[key] = sectionFromDefaults(value as Record<string, unknown>, inner, `${what}.${key}`) as TSchema;
    } else throw new Error(`${what}: ${key} has a default of an unsupported type`);
  }
  return Type.Object(props, { additionalProperties: false, default: {} }) as TObject as unknown as TSection<T>;
}
