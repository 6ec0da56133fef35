import { loadPipeline } from '../../index.ts';
import { type CommandSpec, parseArgs } from '../args.ts';
import { FLAG_MATRIX, FLAG_SET, requirePipelineArg, stringList } from '../common.ts';
import type { CliContext } from '../context.ts';

export const validateSpec: CommandSpec = {
  name: 'validate',
  usage: 'fedau validate <pipeline.yaml> [--set <stage>.<param>=<value>]...',
  summary: 'Check a pipeline (YAML, schemas, stage kinds, params, inputs, cycles) without running anything.',
  positionals: 1,
  flags: [FLAG_SET, FLAG_MATRIX],
};

export async function validateCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { out } = ctx;
  const { positionals, flags } = parseArgs(argv, validateSpec);
  const pipeline = await loadPipeline(requirePipelineArg(positionals, 'validate'), {
    sets: stringList(flags.set),
    matrix: stringList(flags.matrix),
    registry: ctx.registry,
    schemas: ctx.schemas,
  });
  out(
    `✔ ${pipeline.file}: pipeline "${pipeline.name}" is valid, ${pipeline.stages.length} stages in order: ` +
      pipeline.stages.map((s) => `${s.id} (${s.kind})`).join(' → '),
  );
  return 0;
}
