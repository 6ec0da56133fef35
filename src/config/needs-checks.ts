import { type ConfigError, GraphError, unknownNameHint } from '../core/errors.ts';
import { topologicalOrder } from '../engine/graph.ts';
import type { StageDefinition, StageRegistry } from '../engine/stage.ts';
import { makeError, toConfigErrors } from './ajv-errors.ts';
import type { LoadedPipeline } from './load.ts';
import type { SchemaSet } from './schemas.ts';

/** A stage as the YAML writes it. */
export interface RawStage {
  uses: string;
  needs?: Record<string, string>;
  with?: Record<string, unknown>;
  cache?: boolean;
}

type Source = { loaded: LoadedPipeline; overrides: Map<string, string> };

/** Each stage's kind is registered and its params check against the kind's schema (defaults applied in place). */
export function checkKinds(
  stages: Record<string, RawStage>,
  defs: Map<string, StageDefinition>,
  registry: StageRegistry,
  schemas: SchemaSet,
  source: Source,
): ConfigError[] {
  const errors: ConfigError[] = [];
  const opts = { registry };
  for (const [id, stage] of Object.entries(stages)) {
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

  return errors;
}

/** Each `needs` entry names an input the kind has and an output of a stage that exists, of the same artifact kind. */
export function checkNeeds(
  stages: Record<string, RawStage>,
  defs: Map<string, StageDefinition>,
  source: Source,
): ConfigError[] {
  const errors: ConfigError[] = [];
  const raw = { stages };
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

  return errors;
}

/** The stages in an order where each comes after what it needs, or the error naming a cycle. */
export function orderOrCycle(
  stages: Record<string, RawStage>,
  source: Source,
): { order: string[] } | { error: ConfigError } {
  const raw = { stages };
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
    return { error: new GraphError(err.code, err.message, err.info) };
  }
  return sorted as { order: string[] };
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
