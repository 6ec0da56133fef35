import type { Partition } from '../src/artifacts/partition.ts';
import { DataError } from '../src/core/errors.ts';
import { makePartition, PartitionInputError, type PartitionParams } from '../src/data/partition.ts';
import { defineStage } from '../src/engine/stage.ts';

export default defineStage<PartitionParams>()({
  kind: 'partition',
  version: 2,
  summary: 'Split the training set over clients (IID or Dirichlet) and mark the forget set of the unlearning clients.',
  inputs: { dataset: 'dataset' },
  // It reads only artifacts and params: `fedau run --redis` may run it on a worker.
  remote: true,
  outputs: { partition: 'partition' },
  async run(ctx, { dataset: ds }) {
    const { trigger } = ctx.params;
    if (trigger.x + trigger.size > ds.header.width || trigger.y + trigger.size > ds.header.height) {
      throw new DataError(
        `the trigger square (${trigger.size}px at ${trigger.x},${trigger.y}) ` +
          `does not fit in ${ds.header.width}×${ds.header.height} images`,
        {
          path: `stages.${ctx.stageId}.with.trigger`,
          hint: 'make it smaller or move it',
        },
      );
    }
    let partition: Partition;
    try {
      partition = makePartition(ds.trainLabels, ds.header.classes, ctx.params, ctx.seed);
    } catch (error) {
      if (!(error instanceof PartitionInputError)) throw error;
      throw new DataError(error.message, {
        path: error.path ? `stages.${ctx.stageId}.with.${error.path}` : undefined,
        hint: error.hint,
      });
    }
    const h = partition.header;
    ctx.progress({ step: 1, total: 1, label: 'split', metrics: { clients: h.clients, forget: h.forgetCount } });
    ctx.log(
      'info',
      `clients ${h.clients} (${h.scheme}); unlearning clients [${h.unlearningClients.join(', ')}]; ` +
        `forget set ${h.forgetCount} samples; sizes ${h.clientSizes.join(' ')}`,
    );
    return {
      partition: { value: partition, meta: { clients: h.clients, mode: h.mode, forget: h.forgetCount } },
    };
  },
});
