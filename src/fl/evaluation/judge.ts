import type * as tfType from '@tensorflow/tfjs';
import type { TrainingRecipe } from '../../artifacts/federation.ts';
import type { ModelMetrics } from '../../artifacts/metrics.ts';
import type { Head, Weights } from '../../artifacts/model.ts';
import type { Partition } from '../../artifacts/partition.ts';
import type { EvalSet, EvalSets } from '../../ml/eval/eval-sets.ts';
import { completeOutputs, type ModelOutputs, modelMetrics, setsToPredict } from '../../ml/eval/evaluation.ts';
import { type AttackSets, attackAuc, attackFeatures, trainAttack } from '../../ml/eval/mia.ts';
import { predictLogits } from '../../ml/eval/predict.ts';
import type { ModelDef } from '../../ml/models/model.ts';
import type { TrainData } from '../../ml/train/client-train.ts';
import { type RelearnSettings, relearnRounds } from './relearn.ts';

/** What every model is judged with: the same sets, the same attack, the same relearning (design §12). */
export interface Judge {
  tf: typeof tfType;
  model: ModelDef;
  sets: EvalSets;
  attack?: AttackSets;
  target: number | null;
  batchSize: number;
  relearn?: {
    data: TrainData;
    partition: Partition;
    recipe: TrainingRecipe;
    clients: number[];
    settings: Omit<RelearnSettings, 'threshold'>;
  };
  progress(label: string): void;
}

/** A model's outputs on every set the judge reads, including the attack's. */
export interface JudgedOutputs extends ModelOutputs {
  members?: Float32Array;
  attackNonMembers?: Float32Array;
}

/**
 * The outputs of models that share one feature extractor and differ in their classifier (the FedAU model before
 * and after unlearning): one pass per set for all of them.
 */
export async function outputsOf(j: Judge, weights: Weights, heads: Head[]): Promise<JudgedOutputs[]> {
  const outs = heads.map(() => ({}) as JudgedOutputs);
  const named: [keyof JudgedOutputs, EvalSet][] = setsToPredict(j.sets).map((n) => [n, j.sets[n]!]);
  if (j.attack) named.push(['members', j.attack.members], ['attackNonMembers', j.attack.nonMembers]);
  for (const [name, set] of named) {
    j.progress(set.name);
    const logits = await predictLogits(j.tf, j.model, weights, heads, set, j.batchSize);
    logits.forEach((l, h) => {
      outs[h][name] = l;
    });
  }
  return outs.map((o) => ({ ...o, ...completeOutputs(o, j.sets) }));
}

/** Every figure of one model; relearn time when a threshold is given (it needs the original model's figure). */
export async function judgeModel(
  j: Judge,
  weights: Weights,
  out: JudgedOutputs,
  threshold?: number,
): Promise<ModelMetrics> {
  const classes = j.model.classes;
  const metrics = modelMetrics(out, j.sets, classes, j.target);
  metrics.mia = miaOf(j, out);
  if (j.relearn && threshold !== undefined && j.sets.forget) {
    j.progress('relearning');
    const r = await relearnRounds(j.tf, {
      model: j.model,
      weights,
      ...j.relearn,
      forgetSet: j.sets.forget,
      settings: { ...j.relearn.settings, threshold },
    });
    metrics.relearnRounds = r.rounds;
    if (r.capped) metrics.relearnCapped = true;
  }
  return metrics;
}

/** The classifier attack's AUC on the forget set against held-out unseen samples; null without the sets. */
function miaOf(j: Judge, out: JudgedOutputs): number | null {
  const { attack, sets } = j;
  const classes = j.model.classes;
  if (!attack || !out.members || !out.attackNonMembers || !out.forgetTrain || !out.nonMembers) return null;
  if (!sets.forgetTrain || !sets.nonMembers) return null;
  const score = trainAttack(
    attackFeatures(out.members, attack.members.expected, classes),
    attackFeatures(out.attackNonMembers, attack.nonMembers.expected, classes),
  );
  const nonMembers = attackFeatures(out.nonMembers, sets.nonMembers.expected, classes);
  return attackAuc(
    score,
    attackFeatures(out.forgetTrain, sets.forgetTrain.trained, classes),
    attack.heldOutRows.map((r) => nonMembers[r]),
  );
}
