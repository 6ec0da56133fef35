import { backendWithAdapter } from '../../engine/backend-name.ts';
import type { Matrix, ResolvedStage } from '../../engine/pipeline.ts';
import { loadPipeline, planPipeline, storeRoot } from '../../index.ts';
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
  const requested = parseBackend(flags.backend) ?? pipeline.backend;
  applyWebGpuSoftware(flags['webgpu-software']);
  const plan = await planPipeline(pipeline, {
    store: storeRoot(flags.store as string | undefined),
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
    const cost = p.decision === 'cached' || !onCpu ? undefined : stage.def.estimateCost?.(stage.params, p.inputs ?? {});
    if (cost) out(`  ${''.padEnd(idWidth)}  ${''.padEnd(kindWidth)}            ${cost}`);
  }
  const counts = {
    cached: plan.filter((p) => p.decision === 'cached').length,
    run: plan.filter((p) => p.decision !== 'cached').length,
  };
  out(`${counts.cached} cached, ${counts.run} to run`);
  return 0;
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
