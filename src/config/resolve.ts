import { parse as parseYamlValue } from 'yaml';
import { ConfigError, GraphError, unknownNameHint } from '../core/errors.ts';
import { topologicalOrder } from '../engine/graph.ts';
import { deriveSeed } from '../engine/hash.ts';
import type { ResolvedPipeline } from '../engine/pipeline.ts';
import type { StageDefinition, StageRegistry } from '../engine/stage.ts';

import { ConfigErrors, makeError, toConfigErrors } from './ajv-errors.ts';
import { type LoadedPipeline, locate } from './load.ts';
import { expandMatrix, type MatrixSpec, parseMatrixFlag } from './matrix.ts';
import { checkPathSegments } from './paths.ts';
import { loadSchemas, type SchemaSet } from './schemas.ts';

interface RawStage {
  uses: string;
  needs?: Record<string, string>;
  with?: Record<string, unknown>;
  cache?: boolean;
}
interface RawPipeline {
  name: string;
  seed: number;
  backend: string;
  workers: number;
  threads?: number;
  concurrency: number;
  verify: number;
  matrix?: MatrixSpec;
  stages: Record<string, RawStage>;
}

const TOP_LEVEL = new Set(['name', 'seed', 'backend', 'threads', 'workers', 'concurrency', 'verify', 'description']);

/** Applies `--set stage.param=value` (or `--set seed=1`) to a plain pipeline object; returns the overridden paths. */
export function applyOverrides(value: unknown, sets: string[]): Map<string, string> {
  const overridden = new Map<string, string>();
  if (!value || typeof value !== 'object') return overridden;
  // biome-ignore lint/suspicious/noExplicitAny: a plain YAML document, checked by the schema afterwards
  const doc = value as Record<string, any>;
  for (const expr of sets) {
    const eq = expr.indexOf('=');
    if (eq <= 0) {
      throw new ConfigError('FEDAU_USAGE', `--set needs <stage>.<param>=<value>`, {
        file: `--set ${expr}`,
        got: JSON.stringify(expr),
        hint: 'e.g. --set train.rounds=5',
      });
    }
    const lhs = expr.slice(0, eq).trim();
    const parsed = parseOverrideValue(expr.slice(eq + 1));
    const segments = lhs.split('.');
    checkPathSegments(segments, '--set', expr);
    if (segments.length === 1 && TOP_LEVEL.has(lhs)) {
      doc[lhs] = parsed;
      overridden.set(lhs, expr);
      continue;
    }
    const [stageId, ...param] = segments;
    // biome-ignore lint/suspicious/noExplicitAny: a plain YAML document, checked by the schema afterwards
    const stages = (doc.stages ?? {}) as Record<string, any>;
    if (!param.length || !Object.hasOwn(stages, stageId)) {
      throw new ConfigError(
        'FEDAU_USAGE',
        param.length
          ? `--set names stage "${stageId}", which the pipeline does not have`
          : `--set needs <stage>.<param>=<value>`,
        {
          file: `--set ${expr}`,
          hint: param.length
            ? unknownNameHint(stageId, Object.keys(stages))
            : `top-level keys that can be set: ${[...TOP_LEVEL].join(', ')}`,
        },
      );
    }
    const stage = stages[stageId];
    stage.with = stage.with && typeof stage.with === 'object' ? stage.with : {};
    // biome-ignore lint/suspicious/noExplicitAny: a plain YAML document, checked by the schema afterwards
    let target = stage.with as Record<string, any>;
    for (const key of param.slice(0, -1)) {
      if (!Object.hasOwn(target, key) || !target[key] || typeof target[key] !== 'object') target[key] = {};
      target = target[key];
    }
    target[param[param.length - 1]] = parsed;
    overridden.set(['stages', stageId, 'with', ...param].join('.'), expr);
  }
  return overridden;
}

function parseOverrideValue(text: string): unknown {
  try {
    return parseYamlValue(text);
  } catch {
    return text;
  }
}

export interface ResolveOptions {
  registry: StageRegistry;
  sets?: string[];
  /** `--matrix key=v1,v2` expressions: they add to (or replace, key by key) the pipeline's `matrix:`. */
  matrix?: string[];
  schemas?: SchemaSet;
}

/**
 * Checks everything that can be checked before work starts (schema, kinds, params, inputs and their artifact
 * kinds, cycles) and returns the pipeline with defaults applied. All problems found are reported together.
 */
export function resolvePipeline(loaded: LoadedPipeline, opts: ResolveOptions): ResolvedPipeline {
  const schemas = opts.schemas ?? loadSchemas();
  const value = structuredClone(loaded.value);
  const overrides = applyOverrides(value, opts.sets ?? []);
  const source = { loaded, overrides };

  if (!schemas.pipeline(value)) {
    throw new ConfigErrors(toConfigErrors(schemas.pipeline.errors ?? [], { ...source, base: [], noun: 'key' }));
  }
  const raw = value as RawPipeline;
  const errors: ConfigError[] = [];
  const defs = new Map<string, StageDefinition>();

  for (const [id, stage] of Object.entries(raw.stages)) {
    const def = opts.registry[stage.uses];
    const validate = schemas.stages.get(stage.uses);
    if (!def || !validate) {
      errors.push(
        makeError(source, ['stages', id, 'uses'], {
          code: 'FEDAU_UNKNOWN_STAGE_KIND',
          message: `unknown stage kind "${stage.uses}"`,
          expected: 'a stage kind',
          got: JSON.stringify(stage.uses),
          hint: `${unknownNameHint(stage.uses, Object.keys(opts.registry))}; \`fedau stages\` lists them`,
        }),
      );
      continue;
    }
    defs.set(id, def);
    stage.with ??= {};
    if (!validate(stage.with)) {
      errors.push(...toConfigErrors(validate.errors ?? [], { ...source, base: ['stages', id, 'with'], noun: 'param' }));
    }
  }

  for (const [id, stage] of Object.entries(raw.stages)) {
    const def = defs.get(id);
    if (!def) continue;
    const needs = stage.needs ?? {};
    for (const [input, ref] of Object.entries(needs)) {
      const path = ['stages', id, 'needs', input];
      if (!(input in def.inputs)) {
        const inputs = Object.keys(def.inputs);
        const hint = inputs.length ? unknownNameHint(input, inputs) : `"${def.kind}" takes no inputs; remove its needs`;
        errors.push(
          makeError(source, path, {
            atKey: true,
            code: 'FEDAU_MISSING_INPUT',
            message: `stage kind "${def.kind}" has no input "${input}"`,
            hint,
          }),
        );
        continue;
      }
      const [from, output] = ref.split('.');
      const fromStage = raw.stages[from];
      if (!fromStage) {
        errors.push(
          makeError(source, path, {
            code: 'FEDAU_MISSING_INPUT',
            message: `refers to "${ref}", but no stage is called "${from}"`,
            hint: unknownNameHint(from, Object.keys(raw.stages)),
          }),
        );
        continue;
      }
      const fromDef = defs.get(from);
      if (!fromDef) continue; // its unknown kind is already reported
      if (!(output in fromDef.outputs)) {
        errors.push(
          makeError(source, path, {
            code: 'FEDAU_MISSING_INPUT',
            message: `refers to "${ref}", but stage "${from}" (${fromDef.kind}) has no output "${output}"`,
            hint: unknownNameHint(output, Object.keys(fromDef.outputs)),
          }),
        );
        continue;
      }
      const want = def.inputs[input];
      const have = fromDef.outputs[output];
      if (want !== have) {
        errors.push(
          makeError(source, path, {
            code: 'FEDAU_INPUT_KIND',
            message: `input "${input}" of "${id}" needs a ${want} artifact, but "${ref}" is a ${have}`,
            expected: want,
            got: have,
            hint: suggestProducers(want, raw.stages, defs, id),
          }),
        );
      }
    }
    for (const input of Object.keys(def.inputs)) {
      if (!(input in needs) && !def.optionalInputs?.includes(input)) {
        errors.push(
          makeError(source, ['stages', id, stage.needs ? 'needs' : 'uses'], {
            code: 'FEDAU_MISSING_INPUT',
            message: `stage "${id}" (${def.kind}) is missing its input "${input}" (a ${def.inputs[input]})`,
            hint:
              `add it under needs, e.g. \`needs: { ${input}: <stage>.<output> }\`; ` +
              suggestProducers(def.inputs[input], raw.stages, defs, id),
          }),
        );
      }
    }
  }

  const nodes = Object.entries(raw.stages).map(([id, s]) => ({
    id,
    deps: Object.values(s.needs ?? {})
      .map((r) => r.split('.')[0])
      .filter((d) => d in raw.stages),
  }));
  const sorted = topologicalOrder(nodes);
  if ('cycle' in sorted) {
    const [first, second] = sorted.cycle;
    const input = Object.entries(raw.stages[first].needs ?? {}).find(([, r]) => r.split('.')[0] === second)?.[0];
    const err = makeError(source, ['stages', first, 'needs', ...(input ? [input] : [])], {
      code: 'FEDAU_GRAPH_CYCLE',
      message: `the stages form a cycle: ${sorted.cycle.join(' → ')}`,
      hint: 'a stage cannot need its own output, directly or through others; remove one of these needs',
    });
    errors.push(new GraphError(err.code, err.message, err.info));
  }
  if (errors.length) throw new ConfigErrors(errors);

  const order = (sorted as { order: string[] }).order;
  const base: ResolvedPipeline = {
    name: raw.name,
    file: loaded.file,
    seed: raw.seed,
    concurrency: raw.concurrency,
    // `workers` is the old name of `threads` (trainer threads); a pipeline may still use it.
    settings: { backend: raw.backend, threads: raw.threads ?? raw.workers, verify: raw.verify },
    stages: order.map((id) => {
      const stage = raw.stages[id];
      const def = defs.get(id)!;
      return {
        id,
        kind: def.kind,
        def,
        params: stage.with ?? {},
        needs: Object.fromEntries(
          Object.entries(stage.needs ?? {}).map(([k, r]) => {
            const [s, o] = r.split('.');
            return [k, { stage: s, output: o }];
          }),
        ),
        cache: stage.cache ?? true,
        seed: deriveSeed(raw.seed, def.kind),
      };
    }),
  };
  return withMatrix(base, raw, opts, schemas, source);
}

/** Expands the pipeline over `matrix:` and `--matrix`, if there is one; errors point at the key that caused them. */
function withMatrix(
  base: ResolvedPipeline,
  raw: RawPipeline,
  opts: ResolveOptions,
  schemas: SchemaSet,
  source: { loaded: LoadedPipeline; overrides: Map<string, string> },
): ResolvedPipeline {
  const spec: MatrixSpec = { ...(raw.matrix ?? {}) };
  for (const key of Object.keys(spec)) checkPathSegments(key.split('.'), 'matrix:', key);
  const fromFlag = new Map<string, string>();
  for (const expr of opts.matrix ?? []) {
    const [key, values] = parseMatrixFlag(expr);
    spec[key] = values;
    fromFlag.set(key, expr);
  }
  if (!Object.keys(spec).length) return base;
  return expandMatrix(base, spec, {
    validate: (stageId, params) => {
      const stage = base.stages.find((s) => s.id === stageId)!;
      const validate = schemas.stages.get(stage.kind)!;
      if (validate(params)) return [];
      return toConfigErrors(validate.errors ?? [], { base: [], noun: 'param' }).map((e) => e.message);
    },
    locate: (key) => {
      if (fromFlag.has(key)) return { file: `--matrix ${fromFlag.get(key)}` };
      const pos = locate(source.loaded, ['matrix', key], { atKey: true });
      return { file: source.loaded.file, line: pos?.line, col: pos?.col, path: `matrix.${key}` };
    },
  });
}

function suggestProducers(
  kind: string,
  stages: Record<string, RawStage>,
  defs: Map<string, StageDefinition>,
  except: string,
): string {
  const producers: string[] = [];
  for (const [id] of Object.entries(stages)) {
    const def = defs.get(id);
    if (!def || id === except) continue;
    for (const [out, k] of Object.entries(def.outputs)) if (k === kind) producers.push(`${id}.${out}`);
  }
  return producers.length
    ? `outputs of that kind here: ${producers.join(', ')}`
    : `no stage in this pipeline produces a ${kind}`;
}
