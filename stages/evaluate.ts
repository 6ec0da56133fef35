import type { Dataset } from '../src/artifacts/dataset.ts';
import type { Federation } from '../src/artifacts/federation.ts';
import type { Metrics, UnlearnSettingsRecord } from '../src/artifacts/metrics.ts';
import type { StoredModel } from '../src/artifacts/model.ts';
import type { Trace } from '../src/artifacts/trace.ts';
import { DataError } from '../src/core/errors.ts';
import { defineStage } from '../src/engine/stage.ts';
import { trainingServices } from '../src/fl/services.ts';
import type { EvaluateParams } from '../src/generated/stage-params.ts';
import { chooseBackend, initBackend } from '../src/ml/backends/backend.ts';
import { tfjsKeyFacts } from '../src/ml/backends/key-facts.ts';
import { type EvalSets, makeEvalSets } from '../src/ml/eval/eval-sets.ts';
import {
  compareModels,
  completeOutputs,
  type ModelOutputs,
  modelMetrics,
  setsToPredict,
  unlearnedCurve,
} from '../src/ml/eval/evaluation.ts';
import { predictLogits } from '../src/ml/eval/predict.ts';
import { buildModel, type ModelName } from '../src/ml/models/index.ts';

export default defineStage<EvaluateParams>()({
  kind: 'evaluate',
  version: 2,
  summary:
    'The original, unlearned and retrained models side by side: test, per-class and target-class accuracy, the ' +
    'forget metric on test and training samples, membership inference, agreement and KL with the retrained model.',
  inputs: {
    dataset: 'dataset',
    partition: 'partition',
    federation: 'federation',
    model: 'model',
    retrained: 'model',
    trace: 'trace',
  },
  optionalInputs: ['retrained', 'trace'],
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
    checkWiring(fed, ds, unlearned, retrained);
    const fh = fed.header;
    const model = buildModel(fh.model as ModelName, fh.classes, fh.inputShape);
    const tf = await initBackend(await chooseBackend(trainingServices(ctx.services).backend));
    const sets = makeEvalSets(ds, partition);
    const wi = model.classifier.weight;
    const bi = model.classifier.bias;
    const sharesFeatures = fed.weights.every(
      (w, i) => i === wi || i === bi || w.every((v, j) => v === unlearned.weights[i][j]),
    );
    const names = setsToPredict(sets);
    /** Every set's logits for models that share one feature extractor: one pass per set. */
    const outputsOf = async (weights: Float32Array[], heads: { weight: Float32Array; bias: Float32Array }[]) => {
      const outs = heads.map(() => ({}) as ModelOutputs);
      for (const [i, name] of names.entries()) {
        ctx.progress({ step: i, total: names.length, label: sets[name]!.name });
        const logits = await predictLogits(tf, model, weights, heads, sets[name]!, ctx.params.batchSize);
        logits.forEach((l, h) => {
          outs[h][name] = l;
        });
      }
      return outs.map((o) => completeOutputs(o, sets));
    };
    const head = (w: Float32Array[]) => ({ weight: w[wi], bias: w[bi] });
    const [origOut, unlOut] = sharesFeatures
      ? await outputsOf(fed.weights, [head(fed.weights), head(unlearned.weights)])
      : [
          (await outputsOf(fed.weights, [head(fed.weights)]))[0],
          (await outputsOf(unlearned.weights, [head(unlearned.weights)]))[0],
        ];
    const retOut = retrained ? (await outputsOf(retrained.weights, [head(retrained.weights)]))[0] : undefined;

    const ph = partition.header;
    const target = sets.forgetMetric === 'backdoor-asr' ? (ph.target ?? null) : null;
    const u = unlearned.header.unlearned!;
    const settings: UnlearnSettingsRecord = {
      alpha: u.alpha,
      rule: u.rule,
      classScale: u.classScale,
      clients: u.clients,
    };
    const curveSettings = { ...settings, ...ctx.params.curves };
    const trace = inputs.trace as Trace | undefined;
    const metrics: Metrics = {
      dataset: fh.dataset,
      model: fh.model,
      mode: fh.mode,
      clients: fh.clients,
      unlearningClients: fh.unlearningClients,
      forgottenClients: u.clients,
      rounds: fh.rounds,
      ...(fh.recipe.clientFraction ? { clientFraction: fh.recipe.clientFraction } : {}),
      backend: fh.backend,
      forgetMetric: sets.forgetMetric,
      testCount: countOf(sets),
      forgetCount: sets.forget?.count ?? 0,
      forgetTrainCount: sets.forgetTrain?.count ?? 0,
      target,
      classId: ph.mode === 'class' ? (ph.classId ?? null) : null,
      settings,
      original: modelMetrics(origOut, sets, fh.classes, target),
      unlearned: modelMetrics(unlOut, sets, fh.classes, target),
      retrained: retOut ? modelMetrics(retOut, sets, fh.classes, target) : null,
      comparison: retOut ? compareModels(unlOut, retOut, sets, fh.classes) : null,
      curves: trace && fh.mode !== 'none' ? unlearnedCurve(trace, sets, fh.mode, curveSettings) : null,
    };
    const m = metrics;
    ctx.progress({
      step: names.length,
      total: names.length,
      label: 'done',
      metrics: {
        acc: m.original.testAccuracy,
        'ul-acc': m.unlearned.testAccuracy,
        ...(m.original.forget !== null ? { forget: m.original.forget, 'ul-forget': m.unlearned.forget! } : {}),
        ...(m.retrained ? { 'rt-acc': m.retrained.testAccuracy } : {}),
      },
    });
    const seconds = (x: unknown) => Number(x ?? 0);
    const meta = {
      seconds: (performance.now() - t0) / 1000,
      unlearnSeconds: seconds(ctx.inputs.model.meta?.seconds),
      retrainSeconds: seconds(ctx.inputs.retrained?.meta?.seconds),
    };
    return { metrics: { value: metrics, meta } };
  },
});

/** The test images the test accuracy counts (class mode leaves out the forgotten class). */
function countOf(sets: EvalSets): number {
  return sets.testMask ? sets.testMask.reduce((a, b) => a + b, 0) : sets.all.count;
}

function checkWiring(fed: Federation, ds: Dataset, unlearned: StoredModel, retrained?: StoredModel): void {
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
}
