import { readdirSync } from 'node:fs';
import type { AnySchemaObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { loadSchemas, SCHEMA_DIR } from '../../src/config/schemas.ts';
import { stageRegistry } from '../../stages/index.ts';

/** Every property of a schema, nested ones included, with its path. */
function properties(schema: AnySchemaObject, prefix = ''): [string, AnySchemaObject][] {
  return Object.entries((schema.properties ?? {}) as Record<string, AnySchemaObject>).flatMap(([k, v]) => [
    [`${prefix}${k}`, v] as [string, AnySchemaObject],
    ...properties(v, `${prefix}${k}.`),
  ]);
}

describe('stage registry and schemas', () => {
  const schemas = loadSchemas();
  it('has exactly one schema file per stage kind, and each definition is registered under its own kind', () => {
    const files = readdirSync(`${SCHEMA_DIR}/stages`)
      .map((f) => f.replace('.schema.json', ''))
      .sort();
    expect(files).toEqual(Object.keys(stageRegistry).sort());
    for (const [key, def] of Object.entries(stageRegistry)) expect(def.kind).toBe(key);
  });

  it('describes every param, and the defaults alone form valid params', () => {
    for (const [kind, schema] of schemas.stageSchemas) {
      for (const [path, prop] of properties(schema)) expect(prop.description, `${kind}.${path}`).toBeTruthy();
      const params = {};
      expect(schemas.stages.get(kind)!(params), `${kind}: ${JSON.stringify(schemas.stages.get(kind)!.errors)}`).toBe(
        true,
      );
    }
  });
});
