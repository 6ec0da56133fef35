import type * as tfType from '@tensorflow/tfjs';
import type { Dataset } from '../../artifacts/dataset.ts';
import type { Federation } from '../../artifacts/federation.ts';
import type { MethodMetrics, Metrics, ModelMetrics } from '../../artifacts/metrics.ts';
import type { StoredModel, Weights } from '../../artifacts/model.ts';
import type { Partition } from '../../artifacts/partition.ts';
import type { Trace } from '../../artifacts/trace.ts';
import type { EvaluateParams } from '../../generated/stage-params.ts';
import { type EvalSets, makeEvalSets } from '../../ml/eval/eval-sets.ts';
import { compareModels, unlearnedCurve } from '../../ml/eval/evaluation.ts';
import { makeAttackSets } from '../../ml/eval/mia.ts';
import { buildModel, type ModelName } from '../../ml/models/index.ts';
import { stampedTrainImages, trainData } from '../../ml/train/train-data.ts';
import { normAll, subtract } from '../methods/vectors.ts';
import { type Judge, type JudgedOutputs, judgeModel, outputsOf } from './judge.ts';

/** The models a pipeline wired into its evaluation, by method id (`fedau` is the unlearned model). */
export interface Contenders {
  fed: Federation;
  unlearned: StoredModel;
  retrained?: StoredModel;
  methods: [string, StoredModel][];
}

/**
 * The one evaluation (design §12): the FedAU model before unlearning (`original`, the attacks' power and relearning's
 * reference), then every method's model (`fedau`, `retrain`, the others) through the same figures, each compared
 * with the retrained model.
 */
export async function evaluateModels(
  tf: typeof tfType,
  c: Contenders,
  inputs: { ds: Dataset; partition: Partition; trace?: Trace },
  params: EvaluateParams,
  progress: (label: string) => void,
): Promise<Metrics> {
  const { fed, unlearned, retrained } = c;
  const { ds, partition } = inputs;
  const fh = fed.header;
  const model = buildModel(fh.model as ModelName, fh.classes, fh.inputShape);
  const sets = makeEvalSets(ds, partition);
  const ph = partition.header;
  const target = sets.forgetMetric === 'backdoor-asr' ? (ph.target ?? null) : null;
  const relearns =
    params.relearn.maxRounds > 0 && (fh.mode === 'samples' || fh.mode === 'class' || fh.mode === 'client');
  const judge: Judge = {
    tf,
    model,
    sets,
    attack: makeAttackSets(ds, partition, sets, params.mia.samples),
    target,
    batchSize: params.batchSize,
    relearn: relearns
      ? {
          data: trainData(
            stampedTrainImages(ds, partition),
            ds.header,
            partition.headA,
            partition.headB,
            partition.forget,
          ),
          partition,
          recipe: fh.recipe,
          clients: fh.unlearningClients,
          settings: { maxRounds: params.relearn.maxRounds, lr: params.relearn.lr },
        }
      : undefined,
    progress,
  };
  const head = (w: Weights) => ({ weight: w[model.classifier.weight], bias: w[model.classifier.bias] });
  const sharesFeatures = fed.weights.every(
    (w, i) =>
      i === model.classifier.weight || i === model.classifier.bias || w.every((v, j) => v === unlearned.weights[i][j]),
  );
  const [origOut, unlOut] = sharesFeatures
    ? await outputsOf(judge, fed.weights, [head(fed.weights), head(unlearned.weights)])
    : [
        (await outputsOf(judge, fed.weights, [head(fed.weights)]))[0],
        (await outputsOf(judge, unlearned.weights, [head(unlearned.weights)]))[0],
      ];
  const original = await judgeModel(judge, fed.weights, origOut, 0);
  const threshold = original.forget !== null ? original.forget / 2 : undefined;
  const retOut = retrained ? (await outputsOf(judge, retrained.weights, [head(retrained.weights)]))[0] : undefined;
  const judged = async (w: Weights, out?: JudgedOutputs) =>
    judgeModel(judge, w, out ?? (await outputsOf(judge, w, [head(w)]))[0], threshold);
  const versus = (m: ModelMetrics, w: Weights, out: JudgedOutputs, cost: MethodMetrics['cost']): MethodMetrics => {
    if (!retrained || !retOut) return { ...m, comparison: null, cost };
    const { agreement, kl } = compareModels(out, retOut, sets, fh.classes);
    return { ...m, comparison: { agreement, kl, l2: normAll(subtract(w, retrained.weights)) }, cost };
  };
  const unlearnedMetrics = await judged(unlearned.weights, unlOut);
  const u = unlearned.header.unlearned!;
  const methods: Record<string, MethodMetrics> = {
    fedau: versus(unlearnedMetrics, unlearned.weights, unlOut, {
      storageBytes: u.clients.reduce(
        (n, k) => n + (fed.heads.get(k)!.weight.byteLength + fed.heads.get(k)!.bias.byteLength),
        0,
      ),
      rounds: 0,
    }),
  };
  let retrainedMetrics: ModelMetrics | null = null;
  if (retrained && retOut) {
    retrainedMetrics = await judged(retrained.weights, retOut);
    methods.retrain = versus(retrainedMetrics, retrained.weights, retOut, { storageBytes: 0, rounds: fh.rounds });
  }
  for (const [id, m] of c.methods) {
    progress(id);
    const out = (await outputsOf(judge, m.weights, [head(m.weights)]))[0];
    const cost = { storageBytes: m.header.method!.storageBytes, rounds: m.header.method!.rounds };
    methods[id] = versus(await judged(m.weights, out), m.weights, out, cost);
  }
  return {
    ...describe(fed, sets, partition, u.clients),
    target,
    settings: u,
    original,
    unlearned: unlearnedMetrics,
    retrained: retrainedMetrics,
    comparison: retOut ? compareModels(unlOut, retOut, sets, fh.classes) : null,
    curves:
      inputs.trace && fh.mode !== 'none'
        ? unlearnedCurve(inputs.trace, sets, fh.mode, { ...u, ...params.curves })
        : null,
    methods,
    relearn: relearns && threshold !== undefined ? { ...params.relearn, threshold } : null,
  };
}

/** What was evaluated: the federation's setup and the sets' sizes. */
function describe(fed: Federation, sets: EvalSets, partition: Partition, forgotten: number[]) {
  const fh = fed.header;
  const ph = partition.header;
  return {
    dataset: fh.dataset,
    model: fh.model,
    mode: fh.mode,
    clients: fh.clients,
    unlearningClients: fh.unlearningClients,
    forgottenClients: forgotten,
    rounds: fh.rounds,
    ...(fh.recipe.clientFraction ? { clientFraction: fh.recipe.clientFraction } : {}),
    backend: fh.backend,
    forgetMetric: sets.forgetMetric,
    testCount: sets.testMask ? sets.testMask.reduce((a, b) => a + b, 0) : sets.all.count,
    forgetCount: sets.forget?.count ?? 0,
    forgetTrainCount: sets.forgetTrain?.count ?? 0,
    classId: ph.mode === 'class' ? (ph.classId ?? null) : null,
  };
}
