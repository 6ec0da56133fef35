import type { Matrix, ResolvedStage } from '../../engine/pipeline.ts';
import { listRunLogs, type RunLog } from '../../engine/run-log.ts';
import type { ArtifactRef } from '../../engine/stage.ts';
import { ArtifactStore } from '../../engine/store.ts';
import { measuredRoundSeconds } from '../../fl/measured-rounds.ts';
import { loadPipeline, planPipeline, storeRoot } from '../../index.ts';
import { backendWithAdapter } from '../../ml/backends/backend-name.ts';
import { formatSeconds } from '../../ml/cost.ts';
import { type CommandSpec, parseArgs } from '../args.ts';
import {
  applyWebGpuSoftware,
  FLAG_BACKEND,
  FLAG_FORCE,
  FLAG_MATRIX,
  FLAG_SET,
  FLAG_STORE,
  FLAG_WEBGPU_SOFTWARE,
  parseBackend,
  parseForce,
  requirePipelineArg,
  stringList,
} from '../common.ts';
import type { CliContext } from '../context.ts';

export const planSpec: CommandSpec = {
  name: 'plan',
  usage: 'fedau plan <pipeline.yaml> [--set <stage>.<param>=<value>]... [--force[=<stage>]] [--store <dir>]',
  summary: 'Show, for every stage, whether it is cached or will run, and why (what changed since its last run).',
  positionals: 1,
  flags: [FLAG_SET, FLAG_MATRIX, FLAG_FORCE, FLAG_STORE, FLAG_BACKEND, FLAG_WEBGPU_SOFTWARE],
};

export async function planCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { out } = ctx;
  const { positionals, flags } = parseArgs(argv, planSpec);
  const pipeline = await loadPipeline(requirePipelineArg(positionals, 'plan'), {
    sets: stringList(flags.set),
    matrix: stringList(flags.matrix),
    registry: ctx.registry,
    schemas: ctx.schemas,
  });
  const requested = parseBackend(flags.backend) ?? (pipeline.settings.backend as string);
  applyWebGpuSoftware(flags['webgpu-software']);
  const store = storeRoot(flags.store as string | undefined);
  const plan = await planPipeline(pipeline, {
    store,
    force: parseForce(flags.force, pipeline),
    backend: requested,
  });
  // The backend the tfjs stages will run on, as their keys record it.
  const runtime = plan.find((p) => p.parts?.runtime?.backend)?.parts?.runtime;
  const resolved = runtime?.backend;
  const named = resolved && backendWithAdapter(resolved, runtime?.adapter);
  const backend = named && resolved !== requested ? `${named} (${requested})` : (named ?? requested);
  // The cost estimates come from CPU throughput: shown where the stages will run on the CPU.
  const onCpu = ['wasm', 'cpu', ...(resolved === undefined ? ['auto'] : [])].includes(String(resolved ?? requested));
  const logs = await listRunLogs(new ArtifactStore(store));
  const idWidth = Math.max(...plan.map((p) => p.id.length));
  const kindWidth = Math.max(...plan.map((p) => p.kind.length));
  out(`pipeline ${pipeline.name} (${pipeline.file}), seed ${pipeline.seed}, backend ${backend}`);
  const matrix = pipeline.matrix;
  if (matrix) {
    const dims = matrix.dims.map((d) => `${d.key} [${d.values.join(', ')}]`).join(' × ');
    out(
      `matrix: ${dims} → ${matrix.variants.length} variants; a stage that depends on none of a value runs once for all`,
    );
  }
  for (const p of plan) {
    const decision = p.decision === 'cached' ? 'cached  ' : p.decision === 'run' ? 'will run' : 'may run ';
    const stage = pipeline.stages.find((s) => s.id === p.id)!;
    const shared = matrix ? `  [${sharingOf(stage, matrix)}]` : '';
    out(`  ${p.id.padEnd(idWidth)}  ${p.kind.padEnd(kindWidth)}  ${decision}  ${p.why}${shared}`);
    const cost = p.decision === 'cached' ? undefined : costNote(stage, p.inputs ?? {}, logs, runtime, onCpu);
    if (cost) out(`  ${''.padEnd(idWidth)}  ${''.padEnd(kindWidth)}            ${cost}`);
  }
  const counts = {
    cached: plan.filter((p) => p.decision === 'cached').length,
    run: plan.filter((p) => p.decision !== 'cached').length,
  };
  out(`${counts.cached} cached, ${counts.run} to run`);
  return 0;
}

/**
 * What a stage that will run costs: the time per round of the same training measured in this store on the same
 * backend and adapter; else, on the CPU, the stage's own estimate from throughput measured on the project's machine.
 */
function costNote(
  stage: ResolvedStage,
  inputs: Record<string, ArtifactRef | undefined>,
  logs: RunLog[],
  runtime: Record<string, string | number> | undefined,
  onCpu: boolean,
): string | undefined {
  const rounds = Number(stage.params.rounds);
  const measured = rounds > 0 && runtime ? measuredRoundSeconds(logs, stage, runtime) : undefined;
  if (measured) {
    return (
      `cost: ≈ ${formatSeconds(measured.seconds)} per round as measured in run ${measured.runId} here, ` +
      `${rounds} rounds ≈ ${formatSeconds(measured.seconds * rounds)}`
    );
  }
  return onCpu ? stage.def.estimateCost?.(stage.params, inputs) : undefined;
}

/** How many variants of the matrix an instance serves: all of them, or those with its values. */
function sharingOf(stage: ResolvedStage, matrix: Matrix): string {
  if (stage.variants) return `gathers all ${matrix.variants.length} variants`;
  const values = Object.entries(stage.origin?.values ?? {});
  const serves = matrix.variants.filter((v) => values.every(([k, x]) => v.values[k] === x)).length;
  return serves === matrix.variants.length
    ? `shared by all ${serves} variants`
    : `${serves} of ${matrix.variants.length} variants`;
}
