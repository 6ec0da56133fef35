import type { Dataset } from '../src/artifacts/dataset.ts';
import type { Federation } from '../src/artifacts/federation.ts';
import type { StoredModel } from '../src/artifacts/model.ts';
import type { Trace } from '../src/artifacts/trace.ts';
import { DataError } from '../src/core/errors.ts';
import { defineStage } from '../src/engine/stage.ts';
import { evaluateModels } from '../src/fl/evaluation/evaluate-models.ts';
import { METHOD_IDS } from '../src/fl/methods/method-training.ts';
import { trainingServices } from '../src/fl/services.ts';
import type { EvaluateParams } from '../src/generated/stage-params.ts';
import { chooseBackend, initBackend } from '../src/ml/backends/backend.ts';
import { tfjsKeyFacts } from '../src/ml/backends/key-facts.ts';

const methodInputs = Object.fromEntries(METHOD_IDS.map((id) => [id, 'model'])) as Record<
  (typeof METHOD_IDS)[number],
  'model'
>;

export default defineStage<EvaluateParams>()({
  kind: 'evaluate',
  version: 3,
  summary:
    'Every unlearning model of the pipeline by one evaluation: test, per-class and target-class accuracy, the forget ' +
    'metric, two membership-inference attacks with their power, relearn time, agreement, KL and distance to the ' +
    'retrained model, cost.',
  inputs: {
    dataset: 'dataset',
    partition: 'partition',
    federation: 'federation',
    model: 'model',
    retrained: 'model',
    trace: 'trace',
    ...methodInputs,
  },
  optionalInputs: ['retrained', 'trace', ...METHOD_IDS],
  // It reads only artifacts and params: `fedau run --redis` may run it on a worker.
  remote: true,
  outputs: { metrics: 'metrics' },
  seeded: () => false,
  runtimeKey: tfjsKeyFacts,
  async run(ctx, inputs) {
    const t0 = performance.now();
    const { dataset: ds, partition, federation: fed, model: unlearned } = inputs;
    // Optional inputs: undefined when the pipeline does not wire them.
    const retrained = inputs.retrained as StoredModel | undefined;
    const methods = METHOD_IDS.flatMap((id) =>
      inputs[id] ? [[id, inputs[id] as StoredModel] as [string, StoredModel]] : [],
    );
    checkWiring(ctx.stageId, fed, ds, unlearned, retrained, methods);
    const tf = await initBackend(await chooseBackend(trainingServices(ctx.services).backend));
    let step = 0;
    const metrics = await evaluateModels(
      tf,
      { fed, unlearned, retrained, methods },
      { ds, partition, trace: inputs.trace as Trace | undefined },
      ctx.params,
      (label) => ctx.progress({ step: step++, label }),
    );
    const m = metrics;
    ctx.progress({
      step,
      total: step,
      label: 'done',
      metrics: {
        acc: m.original.testAccuracy,
        'ul-acc': m.unlearned.testAccuracy,
        ...(m.original.forget !== null ? { forget: m.original.forget, 'ul-forget': m.unlearned.forget! } : {}),
        ...(m.retrained ? { 'rt-acc': m.retrained.testAccuracy } : {}),
      },
    });
    const seconds = (x: unknown) => Number(x ?? 0);
    const meta: Record<string, number> = {
      seconds: (performance.now() - t0) / 1000,
      unlearnSeconds: seconds(ctx.inputs.model.meta?.seconds),
      retrainSeconds: seconds(ctx.inputs.retrained?.meta?.seconds),
      'learnSeconds.fedau': seconds(ctx.inputs.federation.meta?.auxSeconds),
      'unlearnSeconds.fedau': seconds(ctx.inputs.model.meta?.seconds),
    };
    if (retrained) Object.assign(meta, { 'learnSeconds.retrain': 0, 'unlearnSeconds.retrain': meta.retrainSeconds });
    for (const [id] of methods) {
      meta[`learnSeconds.${id}`] = seconds(ctx.inputs[id]?.meta?.learnSeconds);
      meta[`unlearnSeconds.${id}`] = seconds(ctx.inputs[id]?.meta?.seconds);
    }
    return { metrics: { value: metrics, meta } };
  },
});

function checkWiring(
  stageId: string,
  fed: Federation,
  ds: Dataset,
  unlearned: StoredModel,
  retrained: StoredModel | undefined,
  methods: [string, StoredModel][],
): void {
  const fh = fed.header;
  if (
    fh.dataset !== ds.header.name ||
    fh.inputShape.join() !== [ds.header.height, ds.header.width, ds.header.channels].join()
  ) {
    throw new DataError(
      `the federation was trained on ${fh.dataset} ${fh.inputShape.join('×')}, not on this ${ds.header.name} dataset`,
      { hint: 'wire evaluate to the dataset the federation was trained on' },
    );
  }
  const specs = (m: { header: { specs: { name: string }[] } }) => m.header.specs.map((s) => s.name).join();
  if (specs(fed) !== specs(unlearned) || !unlearned.header.unlearned) {
    throw new DataError('the unlearned model is not a variant of this federation (its parameters differ)', {
      hint: 'wire evaluate.model to the unlearn stage that reads this federation',
    });
  }
  if (retrained && (specs(fed) !== specs(retrained) || !retrained.header.retrained)) {
    throw new DataError('the retrained model is not a retrain of this federation', {
      hint: 'wire evaluate.retrained to the retrain stage that reads this federation',
    });
  }
  const forgotten = unlearned.header.unlearned.clients;
  if (retrained && forgotten.join() !== fh.unlearningClients.join()) {
    // The retrain (and every method) forgets every unlearning client's data: a subset would be judged against
    // a model that forgot more.
    throw new DataError(
      `the unlearned model forgot clients [${forgotten.join(', ')}], the retrained model every unlearning client`,
      {
        path: `stages.${stageId}.needs.retrained`,
        expected: `unlearn.clients = [${fh.unlearningClients.join(', ')}] (or empty: all of them)`,
        got: `[${forgotten.join(', ')}]`,
        hint:
          'to forget fewer clients, make a partition whose unlearning clients are just those (unlearningClientIds), ' +
          'so the retrain leaves out exactly their data',
      },
    );
  }
  for (const [id, m] of methods) {
    if (specs(fed) !== specs(m) || m.header.method?.id !== id) {
      throw new DataError(`evaluate.${id} is not a ${id} model of this federation`, {
        path: `stages.${stageId}.needs.${id}`,
        hint: `wire it to the ${id} stage's model output`,
      });
    }
  }
}
