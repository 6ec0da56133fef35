import { unpackDataset } from '../src/artifacts/dataset.ts';
import { unpackFederation } from '../src/artifacts/federation.ts';
import { type Metrics, packMetrics } from '../src/artifacts/metrics.ts';
import { unpackModel } from '../src/artifacts/model.ts';
import { unpackPartition } from '../src/artifacts/partition.ts';
import { DataError } from '../src/engine/errors.ts';
import { defineStage } from '../src/engine/stage.ts';
import type { EvaluateParams } from '../src/generated/stage-params.ts';
import { chooseBackend, initBackend } from '../src/ml/backend.ts';
import { makeEvalSets } from '../src/ml/eval-sets.ts';
import { buildModel, type ModelName } from '../src/ml/models/index.ts';
import { accuracy, predictWithHeads } from '../src/ml/predict.ts';

export default defineStage<EvaluateParams>({
  kind: 'evaluate',
  version: 1,
  summary:
    'Test accuracy and forget metric (backdoor ASR on a triggered test set, or forgotten-class accuracy) ' +
    'of the original and unlearned models.',
  inputs: { dataset: 'dataset', partition: 'partition', federation: 'federation', model: 'model' },
  outputs: { metrics: 'metrics' },
  usesTfjs: true,
  async run(ctx) {
    const t0 = performance.now();
    const ds = unpackDataset(await ctx.readArtifact(ctx.inputs.dataset));
    const partition = unpackPartition(await ctx.readArtifact(ctx.inputs.partition));
    const fed = unpackFederation(await ctx.readArtifact(ctx.inputs.federation));
    const unlearned = unpackModel(await ctx.readArtifact(ctx.inputs.model));
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
    if (fh.specs.map((s) => s.name).join() !== unlearned.header.specs.map((s) => s.name).join()) {
      throw new DataError('the unlearned model is not a variant of this federation (its parameters differ)', {
        hint: 'wire evaluate.model to the unlearn stage that reads this federation',
      });
    }
    const model = buildModel(fh.model as ModelName, fh.classes, fh.inputShape);
    const tf = await initBackend(chooseBackend(ctx.runtime.backend));
    const sets = makeEvalSets(ds, partition.header);
    const wi = model.classifier.weight;
    const bi = model.classifier.bias;
    const heads = [
      { weight: fed.weights[wi], bias: fed.weights[bi] },
      { weight: unlearned.weights[wi], bias: unlearned.weights[bi] },
    ];
    // The unlearned model shares the federation's feature extractor; check it, then score both heads on one pass.
    const sameFeatures = fed.weights.every(
      (w, i) => i === wi || i === bi || w.every((v, j) => v === unlearned.weights[i][j]),
    );
    const score = (set: typeof sets.test) => {
      if (sameFeatures)
        return predictWithHeads(tf, model, fed.weights, heads, set, ctx.params.batchSize).map((p) =>
          accuracy(p, set.expected),
        );
      return [fed.weights, unlearned.weights].map((w, i) =>
        accuracy(predictWithHeads(tf, model, w, [heads[i]], set, ctx.params.batchSize)[0], set.expected),
      );
    };
    ctx.progress({ step: 0, total: 2, label: 'test set' });
    const [testOrig, testUnl] = score(sets.test);
    ctx.progress({ step: 1, total: 2, label: sets.forget?.name ?? 'done' });
    const [forgetOrig, forgetUnl] = sets.forget ? score(sets.forget) : [null, null];
    ctx.progress({
      step: 2,
      total: 2,
      label: 'done',
      metrics: {
        acc: testOrig,
        'ul-acc': testUnl,
        ...(forgetOrig !== null ? { forget: forgetOrig, 'ul-forget': forgetUnl! } : {}),
      },
    });
    const metrics: Metrics = {
      dataset: fh.dataset,
      model: fh.model,
      mode: fh.mode,
      clients: fh.clients,
      unlearningClients: fh.unlearningClients,
      forgottenClients: unlearned.header.unlearned?.clients ?? [],
      rounds: fh.rounds,
      backend: fh.backend,
      forgetMetric: sets.forgetMetric,
      testCount: sets.test.count,
      forgetCount: sets.forget?.count ?? 0,
      original: { testAccuracy: testOrig, forget: forgetOrig },
      unlearned: { testAccuracy: testUnl, forget: forgetUnl },
    };
    const meta = {
      seconds: (performance.now() - t0) / 1000,
      unlearnSeconds: Number(ctx.inputs.model.meta?.seconds ?? 0),
    };
    return { metrics: await ctx.writeArtifact('metrics', packMetrics(metrics), meta) };
  },
});
