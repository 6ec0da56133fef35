import { parse as parseYamlValue } from 'yaml';
import { ConfigError, unknownNameHint } from '../core/errors.ts';
import { canonicalJson } from '../core/hash.ts';
import { deriveSeed } from '../engine/hash.ts';
import type { InputRef, Matrix, ResolvedPipeline, ResolvedStage, Variant } from '../engine/pipeline.ts';
import { ConfigErrors } from './ajv-errors.ts';
import { checkPathSegments } from './paths.ts';

/** The matrix as written: `seed` or a `<stage>.<param>` path (the `--set` paths), each with its list of values. */
export type MatrixSpec = Record<string, unknown[]>;

/** `--matrix forget.alpha=0.1,0.5,0.9`: values are YAML scalars (numbers stay numbers). */
export function parseMatrixFlag(expr: string): [string, unknown[]] {
  const eq = expr.indexOf('=');
  const values =
    eq > 0
      ? expr
          .slice(eq + 1)
          .split(',')
          .filter((v) => v.trim() !== '')
      : [];
  if (eq <= 0 || !values.length) {
    throw new ConfigError('FEDAU_USAGE', '--matrix needs <key>=<value>,<value>,...', {
      file: `--matrix ${expr}`,
      got: JSON.stringify(expr),
      hint: 'e.g. --matrix seed=0,1,2 or --matrix forget.alpha=0.1,0.5,0.9',
    });
  }
  const key = expr.slice(0, eq).trim();
  checkPathSegments(key.split('.'), '--matrix', expr);
  return [key, values.map((v) => parseYamlValue(v.trim()) as unknown)];
}

/** How a value reads in a variant id: `0.5`, `mix`, `true`. */
const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** `seed=1,forget.alpha=0.5`: stable and readable, in the matrix's order. */
export function variantId(values: Record<string, unknown>, keys: string[]): string {
  return keys
    .filter((k) => k in values)
    .map((k) => `${k}=${show(values[k])}`)
    .join(',');
}

/** Every combination of the values, the first key varying slowest. */
function combinations(dims: Matrix['dims']): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}];
  for (const { key, values } of dims) out = out.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  return out;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!node[key] || typeof node[key] !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

export interface MatrixContext {
  /** Checks (and completes with defaults) one instance's params; returns the problems as messages. */
  validate(stageId: string, params: Record<string, unknown>): string[];
  /** Where a matrix key was written, for error messages. */
  locate(key: string): { file?: string; line?: number; col?: number; path?: string };
}

/**
 * Expands a pipeline over its matrix into plain stages (as DVC expands `foreach`): each stage is instantiated once
 * per combination of the varied values it depends on (its own params, the seed if it draws random numbers, and
 * whatever its inputs depend on), so a stage that depends on no varied value stays one stage, shared by every
 * variant: the federation of a seed trains once for all α. A gathering stage (the report) becomes one instance
 * that reads every variant.
 */
export function expandMatrix(base: ResolvedPipeline, spec: MatrixSpec, ctx: MatrixContext): ResolvedPipeline {
  const dims = Object.entries(spec).map(([key, values]) => ({ key, values }));
  checkDims(base, dims, ctx);
  const keys = dims.map((d) => d.key);
  const variants: Variant[] = combinations(dims).map((values) => ({ id: variantId(values, keys), values }));
  const depends = new Map<string, Set<string>>();
  const instances = new Map<string, Map<string, ResolvedStage>>();
  const stages: ResolvedStage[] = [];
  const project = (values: Record<string, unknown>, on: Set<string>) =>
    Object.fromEntries(keys.filter((k) => on.has(k)).map((k) => [k, values[k]]));

  for (const stage of base.stages) {
    const upstream = [...new Set(Object.values(stage.needs).map((n) => n.stage))];
    const own = new Set(keys.filter((k) => k.startsWith(`${stage.id}.`)));
    if (keys.includes('seed') && stage.def.seeded?.(stage.params) !== false) own.add('seed');
    for (const u of upstream) for (const k of depends.get(u) ?? []) own.add(k);
    if (stage.def.gather) {
      const instance = gatherInstance(stage, variants, (u, v) => instanceFor(u, v));
      stages.push(instance);
      depends.set(stage.id, new Set());
      instances.set(stage.id, new Map([[canonicalJson({}), instance]]));
      continue;
    }
    depends.set(stage.id, own);
    const byValues = new Map<string, ResolvedStage>();
    for (const variant of variants) {
      const values = project(variant.values, own);
      const sig = canonicalJson(values);
      if (byValues.has(sig)) continue;
      const instance = instantiate(stage, values, keys, base.seed, ctx);
      instance.needs = Object.fromEntries(
        Object.entries(stage.needs).map(([name, ref]) => [name, { ...ref, stage: instanceFor(ref.stage, variant).id }]),
      );
      byValues.set(sig, instance);
      stages.push(instance);
    }
    instances.set(stage.id, byValues);
  }
  return { ...base, stages, matrix: { dims, variants } };

  function instanceFor(stageId: string, variant: Variant): ResolvedStage {
    const values = project(variant.values, depends.get(stageId)!);
    return instances.get(stageId)!.get(canonicalJson(values))!;
  }
}

/** One instance of a stage for some varied values: its id, its params and its seed. */
function instantiate(
  stage: ResolvedStage,
  values: Record<string, unknown>,
  keys: string[],
  pipelineSeed: number,
  ctx: MatrixContext,
): ResolvedStage {
  const params = structuredClone(stage.params);
  for (const [key, value] of Object.entries(values)) {
    if (key.startsWith(`${stage.id}.`)) setPath(params, key.split('.').slice(1), value);
  }
  ctx.validate(stage.id, params);
  const id = Object.keys(values).length ? `${stage.id}[${variantId(values, keys)}]` : stage.id;
  const seed = typeof values.seed === 'number' ? values.seed : pipelineSeed;
  return { ...stage, id, params, seed: deriveSeed(seed, stage.def.kind), origin: { id: stage.id, values } };
}

/** The one instance of a gathering stage: each input once per variant, named `<input>@<variant id>`. */
function gatherInstance(
  stage: ResolvedStage,
  variants: Variant[],
  instanceFor: (stageId: string, variant: Variant) => ResolvedStage,
): ResolvedStage {
  const needs: Record<string, InputRef> = {};
  for (const variant of variants) {
    for (const [name, ref] of Object.entries(stage.needs)) {
      needs[`${name}@${variant.id}`] = { ...ref, stage: instanceFor(ref.stage, variant).id };
    }
  }
  return { ...stage, needs, variants, origin: { id: stage.id, values: {} } };
}

/** Each key names the seed or an existing stage's param, with a non-empty list of distinct values that check. */
function checkDims(base: ResolvedPipeline, dims: Matrix['dims'], ctx: MatrixContext): void {
  const errors: ConfigError[] = [];
  const ids = base.stages.map((s) => s.id);
  for (const { key, values } of dims) {
    const where = ctx.locate(key);
    const fail = (message: string, extra: { expected?: string; got?: string; hint?: string }) =>
      errors.push(new ConfigError('FEDAU_CONFIG_INVALID', message, { ...where, ...extra }));
    if (!Array.isArray(values) || values.length === 0) {
      fail(`matrix key "${key}" needs a list of values`, { expected: 'a non-empty list', got: JSON.stringify(values) });
      continue;
    }
    if (new Set(values.map((v) => canonicalJson(v))).size !== values.length) {
      fail(`matrix key "${key}" lists a value twice`, { got: JSON.stringify(values) });
      continue;
    }
    if (key === 'seed') {
      const bad = values.find((v) => !Number.isInteger(v) || (v as number) < 0 || (v as number) > 4294967295);
      if (bad !== undefined)
        fail('a matrix seed must be a whole number from 0', { expected: '0–4294967295', got: show(bad) });
      continue;
    }
    const [stageId, ...path] = key.split('.');
    const stage = base.stages.find((s) => s.id === stageId);
    if (!stage || !path.length) {
      fail(`matrix key "${key}" names no stage param`, {
        expected: 'seed or <stage>.<param>',
        got: key,
        hint: stage ? 'add the param after the stage id: <stage>.<param>' : unknownNameHint(stageId, ids),
      });
      continue;
    }
    if (stage.def.gather) {
      fail(`matrix key "${key}" varies the ${stage.kind} stage, which gathers every variant`, {
        hint: 'vary the stages whose results it gathers',
      });
      continue;
    }
    for (const value of values) {
      const params = structuredClone(stage.params);
      setPath(params, path, value);
      for (const problem of ctx.validate(stage.id, params)) fail(`matrix key "${key}": ${show(value)} ${problem}`, {});
    }
  }
  if (errors.length) throw new ConfigErrors(errors);
}
