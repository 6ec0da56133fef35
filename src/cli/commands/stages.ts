import type { AnySchemaObject } from 'ajv';
import { stageRegistry } from '../../../stages/index.ts';
import { loadSchemas } from '../../config/schemas.ts';
import { ConfigError, unknownNameHint } from '../../core/errors.ts';
import { type CommandSpec, parseArgs } from '../args.ts';
import type { CliContext } from '../context.ts';

export const stagesSpec: CommandSpec = {
  name: 'stages',
  usage: 'fedau stages [<kind>] [--markdown]',
  summary: 'Every stage kind with its inputs, outputs and params (type, default, description), from the schemas.',
  positionals: 1,
  flags: [{ name: 'markdown', arg: 'boolean', description: 'print a Markdown reference (used for the README)' }],
};

export interface ParamRow {
  path: string;
  type: string;
  default?: string;
  description: string;
}

/** Flattens a stage schema into one row per param, nested objects as dotted paths. */
export function paramRows(schema: AnySchemaObject, prefix = ''): ParamRow[] {
  const rows: ParamRow[] = [];
  for (const [name, prop] of Object.entries((schema.properties ?? {}) as Record<string, AnySchemaObject>)) {
    const path = prefix ? `${prefix}.${name}` : name;
    const type = prop.enum
      ? prop.enum.map((v: unknown) => JSON.stringify(v)).join(' | ')
      : prop.type === 'array'
        ? `${prop.items?.type ?? 'any'}[]`
        : String(prop.type ?? 'any');
    const isObject = prop.type === 'object' && prop.properties;
    rows.push({
      path,
      type: isObject ? 'object' : type + rangeText(prop),
      default: prop.default === undefined || isObject ? undefined : JSON.stringify(prop.default),
      description: prop.description ?? '',
    });
    if (isObject) rows.push(...paramRows(prop, path));
  }
  return rows;
}

function rangeText(prop: AnySchemaObject): string {
  const lo = prop.minimum ?? (prop.exclusiveMinimum !== undefined ? `>${prop.exclusiveMinimum}` : undefined);
  const hi = prop.maximum ?? (prop.exclusiveMaximum !== undefined ? `<${prop.exclusiveMaximum}` : undefined);
  if (lo === undefined && hi === undefined) return '';
  return ` [${lo ?? ''}..${hi ?? ''}]`;
}

export function stagesCommand(
  argv: string[],
  { out, registry = stageRegistry, schemas = loadSchemas() }: CliContext,
): number {
  const { positionals, flags } = parseArgs(argv, stagesSpec);
  const kinds = Object.keys(registry);
  const wanted = positionals[0];
  if (wanted && !kinds.includes(wanted)) {
    throw new ConfigError('FEDAU_UNKNOWN_STAGE_KIND', `unknown stage kind "${wanted}"`, {
      hint: unknownNameHint(wanted, kinds),
    });
  }
  for (const kind of wanted ? [wanted] : kinds) {
    const def = registry[kind];
    const schema = schemas.stageSchemas.get(kind)!;
    const optional = def.optionalOutputs ?? {};
    const io = (m: Readonly<Record<string, string>>) =>
      Object.entries(m)
        .map(([k, v]) => `${k} (${v}${m === def.outputs && k in optional ? ', when asked' : ''})`)
        .join(', ') || 'none';
    const rows = paramRows(schema);
    if (flags.markdown) {
      out(`### \`${kind}\`\n\n${def.summary}\n\n- inputs: ${io(def.inputs)}\n- outputs: ${io(def.outputs)}\n`);
      out('| param | type | default | description |\n| --- | --- | --- | --- |');
      for (const r of rows)
        out(
          `| \`${r.path}\` | ${r.type.replace(/\|/g, '\\|')} | ` +
            `${r.default !== undefined ? `\`${r.default}\`` : ''} | ${r.description.replace(/\|/g, '\\|')} |`,
        );
      out('');
      continue;
    }
    out(
      `${kind}  (version ${def.version})\n  ${def.summary}\n` +
        `  inputs:  ${io(def.inputs)}\n  outputs: ${io(def.outputs)}\n  params:`,
    );
    const width = Math.max(...rows.map((r) => r.path.length));
    for (const r of rows)
      out(
        `    ${r.path.padEnd(width)}  ${r.type}${r.default !== undefined ? `  = ${r.default}` : ''}\n` +
          `    ${''.padEnd(width)}  ${r.description}`,
      );
    out('');
  }
  return 0;
}
