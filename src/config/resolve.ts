import type { ConfigError } from '../core/errors.ts';
import { deriveSeed } from '../engine/hash.ts';
import type { ResolvedPipeline } from '../engine/pipeline.ts';
import type { StageDefinition, StageRegistry } from '../engine/stage.ts';
import { ConfigErrors, toConfigErrors } from './ajv-errors.ts';
import { type LoadedPipeline, locate } from './load.ts';
import { expandMatrix, type MatrixSpec, parseMatrixFlag } from './matrix.ts';
import { checkKinds, checkNeeds, orderOrCycle, type RawStage } from './needs-checks.ts';
import { applyOverrides } from './overrides.ts';
import { checkPathSegments } from './paths.ts';
import { loadSchemas, type SchemaSet } from './schemas.ts';

export { applyOverrides } from './overrides.ts';

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

  errors.push(...checkKinds(raw.stages, defs, opts.registry, schemas, source));
  errors.push(...checkNeeds(raw.stages, defs, source));

  const sorted = orderOrCycle(raw.stages, source);
  if ('error' in sorted) errors.push(sorted.error);
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
