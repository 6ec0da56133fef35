import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type AnySchemaObject, type ValidateFunction } from 'ajv';
import { packagePath } from '../core/package-root.ts';

/** Folder of the JSON Schemas: the single source of truth for params, defaults and descriptions. */
export const SCHEMA_DIR = packagePath('schemas');

export interface SchemaSet {
  pipeline: ValidateFunction;
  pipelineSchema: AnySchemaObject;
  /** stage kind → validator (applies defaults in place) */
  stages: Map<string, ValidateFunction>;
  stageSchemas: Map<string, AnySchemaObject>;
}

let cached: SchemaSet | undefined;

/** Compiles a pipeline schema and stage schemas (by kind) into validators that apply defaults in place. */
export function buildSchemaSet(
  pipelineSchema: AnySchemaObject,
  stageSchemas: Record<string, AnySchemaObject>,
): SchemaSet {
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    verbose: true,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
  });
  const stages = new Map<string, ValidateFunction>();
  for (const [kind, schema] of Object.entries(stageSchemas)) stages.set(kind, ajv.compile(schema));
  return {
    pipeline: ajv.compile(pipelineSchema),
    pipelineSchema,
    stages,
    stageSchemas: new Map(Object.entries(stageSchemas)),
  };
}

/** The schemas shipped in `schemas/`, compiled once per process. */
export function loadSchemas(): SchemaSet {
  if (cached) return cached;
  const read = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as AnySchemaObject;
  const stageSchemas: Record<string, AnySchemaObject> = {};
  for (const file of readdirSync(join(SCHEMA_DIR, 'stages')).sort()) {
    if (file.endsWith('.schema.json'))
      stageSchemas[file.slice(0, -'.schema.json'.length)] = read(join(SCHEMA_DIR, 'stages', file));
  }
  cached = buildSchemaSet(read(join(SCHEMA_DIR, 'pipeline.schema.json')), stageSchemas);
  return cached;
}
