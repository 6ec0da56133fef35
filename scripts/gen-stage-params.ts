// Generates src/generated/stage-params.ts from schemas/stages/*.schema.json: `npm run gen`.
// The schemas stay the single source of truth for params; a test fails when the generated file is stale.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  required?: string[];
  default?: unknown;
  description?: string;
  title?: string;
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const GENERATED_PATH = join(ROOT, 'src/generated/stage-params.ts');

/** `train-federation` → `TrainFederationParams`. */
export function paramsTypeName(kind: string): string {
  return `${kind.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}Params`;
}

/**
 * The TypeScript type of a schema. Params are typed as a stage sees them, after ajv has applied the defaults: a
 * property is optional only when it is neither required nor defaulted.
 */
function typeOf(schema: Schema, indent: string): string {
  if (schema.enum) return schema.enum.map(literal).join(' | ');
  if (schema.const !== undefined) return literal(schema.const);
  switch (schema.type) {
    case 'integer':
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'array':
      return `${wrapUnion(typeOf(schema.items ?? {}, indent))}[]`;
    case 'object':
      return objectType(schema, indent);
    default:
      return 'unknown';
  }
}

const wrapUnion = (t: string) => (t.includes(' | ') ? `(${t})` : t);
const literal = (v: unknown) => (typeof v === 'string' ? `'${v.replace(/'/g, "\\'")}'` : JSON.stringify(v));

/** A JSDoc comment wrapped at 120 columns. */
function doc(text: string, indent: string): string[] {
  const width = 120 - indent.length - 4;
  const words = text.replace(/\*\//g, '*\\/').split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  if (lines.length === 1 && lines[0].length <= width - 3) return [`${indent}/** ${lines[0]} */`];
  return [`${indent}/**`, ...lines.map((l) => `${indent} * ${l}`), `${indent} */`];
}

function objectType(schema: Schema, indent: string): string {
  const props = Object.entries(schema.properties ?? {});
  const extra = schema.additionalProperties;
  if (!props.length) {
    return typeof extra === 'object' ? `Record<string, ${typeOf(extra, indent)}>` : 'Record<string, never>';
  }
  const inner = `${indent}  `;
  const lines = ['{'];
  for (const [name, prop] of props) {
    if (prop.description) lines.push(...doc(prop.description, inner));
    const optional = !(schema.required ?? []).includes(name) && prop.default === undefined;
    lines.push(`${inner}${name}${optional ? '?' : ''}: ${typeOf(prop, inner)};`);
  }
  lines.push(`${indent}}`);
  return lines.join('\n');
}

/** The whole generated file for the schemas in `dir`. */
export function generateStageParams(dir = join(ROOT, 'schemas/stages')): string {
  const out = [
    '// Generated from schemas/stages/*.schema.json by `npm run gen`. Do not edit: change the schema and regenerate.',
    "// Each type is a stage kind's params as its `run` receives them, defaults applied.",
    '',
  ];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.schema.json')) continue;
    const kind = file.slice(0, -'.schema.json'.length);
    const schema = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Schema;
    if (schema.description) out.push(...doc(schema.description, ''));
    const type = objectType(schema, '');
    // A kind without params gets a type alias: an interface cannot be declared as a Record.
    out.push(
      type.startsWith('{')
        ? `export interface ${paramsTypeName(kind)} ${type}`
        : `export type ${paramsTypeName(kind)} = ${type};`,
      '',
    );
  }
  // The pipeline's own settings (its top-level keys but the stages and the matrix): the backends, for one.
  const pipeline = JSON.parse(readFileSync(join(dir, '..', 'pipeline.schema.json'), 'utf8')) as Schema;
  const { stages: _s, matrix: _m, ...settings } = pipeline.properties ?? {};
  out.push(
    "/** A pipeline's top-level settings, as its schema declares them. */",
    `export interface PipelineParams ${objectType({ properties: settings, required: pipeline.required }, '')}`,
    '',
  );
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) writeFileSync(GENERATED_PATH, generateStageParams());
