import { defineStage } from '../src/engine/stage.ts';
import { checkMode, methodModel, trainMethod } from '../src/fl/methods/method-training.ts';
import { fedAvgPhase } from '../src/fl/methods/retained-fedavg.ts';
import { checkTrainingInputs } from '../src/fl/recipe.ts';
import type { FinetuneParams } from '../src/generated/stage-params.ts';
import { tfjsKeyFacts } from '../src/ml/backends/key-facts.ts';

/** Fine-tuning (design §7.1): FedAvg from the final global model on the retained data only. */
export default defineStage<FinetuneParams>()({
  kind: 'finetune',
  version: 1,
  summary: 'Unlearning baseline: fine-tune the final global model with FedAvg on the retained data only.',
  inputs: { dataset: 'dataset', partition: 'partition', federation: 'federation' },
  outputs: { model: 'model' },
  seeded: () => false,
  runtimeKey: tfjsKeyFacts,
  async run(ctx, { dataset: ds, partition, federation: fed }) {
    checkTrainingInputs(ds, partition, ctx.stageId);
    checkMode('finetune', fed, ['samples', 'class', 'client', 'random-label'], ctx.stageId);
    const { recipe } = fed.header;
    const rounds = ctx.params.rounds;
    const strategy = fedAvgPhase({
      partition,
      recipe,
      samples: 'retain',
      firstRound: fed.header.rounds,
      localEpochs: ctx.params.localEpochs,
    });
    const { final, backend } = await trainMethod(ctx, {
      ds,
      partition,
      fed,
      start: fed.weights,
      strategy,
      rounds,
      label: `fine-tuning on the retained data for ${rounds} rounds`,
    });
    const method = {
      id: 'finetune' as const,
      clients: fed.header.unlearningClients,
      rounds,
      storageBytes: 0,
      params: { ...ctx.params },
    };
    return { model: { value: methodModel(fed, final.weights, method), meta: { seconds: final.seconds, backend } } };
  },
});
