import type { UnlearnedWith } from './model.ts';
import { canonicalJson } from '../core/hash.ts';

/**
 * What "forgetting" is measured by, per mode: the backdoor's attack success rate (samples and client modes), the
 * forgotten class's accuracy (class mode), or the accuracy on the forgotten samples with their true labels
 * (random-label mode, where no test-set counterpart exists).
 */
export type ForgetMetric = 'backdoor-asr' | 'class-accuracy' | 'forget-accuracy' | 'none';

/** One model's evaluation. Every figure is a fraction in [0, 1]; null where the mode has no such set. */
export interface ModelMetrics {
  /** Accuracy on the test set (without the forgotten class in class mode). */
  testAccuracy: number;
  /** The forget metric on its test set: the triggered test set, or the forgotten class's test images. */
  forget: number | null;
  /** The forget metric on the forgotten training samples themselves. */
  forgetTrain: number | null;
  /** Accuracy on the test images of each class, indexed by class (all classes, the forgotten one included). */
  perClassAccuracy: number[];
  /**
   * Backdoor modes: clean accuracy on the target class. A model that never predicts the target scores ASR 0
   * without having forgotten anything; this figure tells the two apart.
   */
  targetAccuracy: number | null;
  /**
   * A loss-based membership-inference attack: ROC AUC of "lower loss means member" separating the forget set
   * from unseen samples of the same kind. 0.5: indistinguishable (what retraining gives); 1: fully exposed.
   */
  miaAuc: number | null;
  /**
   * A stronger attack (design §12): a classifier on loss, confidence and entropy, trained on this model's outputs for
   * retained training samples against unseen ones, judged on the forget set against held-out unseen samples of its
   * kind (ROC AUC, 0.5 = chance). Its value on the original model is the attack's power.
   */
  mia: number | null;
  /** Relearn time: FedAvg rounds on the forget data until the forget metric is back to half the original's. */
  relearnRounds: number | null;
  /** True when the forget metric did not come back within the cap (`relearnRounds` is the cap). */
  relearnCapped?: boolean;
}

/** The unlearning that was applied: the rule, its α and class scale, and the clients forgotten. */
export type UnlearnSettingsRecord = UnlearnedWith;

/** The unlearned model against the retrained one, on the whole test set. */
export interface Comparison {
  /** Fraction of test images where both predict the same class. */
  agreement: number;
  /** Mean KL(retrained ‖ unlearned) of the predicted class distributions, in nats. */
  kl: number;
  /** The largest per-class accuracy difference, over all classes. */
  maxPerClassGap: number;
}

/** A method's model against the retrained one. */
export interface MethodComparison {
  agreement: number;
  kl: number;
  /** The L2 distance between the two models' parameters. */
  l2: number;
}

/** A method's model: every figure of the one evaluation, against the retrained model, and its deterministic cost. */
export interface MethodMetrics extends ModelMetrics {
  comparison: MethodComparison | null;
  /** Seconds are added by the report from the artifacts' meta (`learnSeconds`, `unlearnSeconds`). */
  cost: { storageBytes: number; rounds: number };
}

/** How relearn time was measured. */
export interface RelearnRecord {
  maxRounds: number;
  lr: number;
  /** Half the original model's forget metric. */
  threshold: number;
}

/** The unlearned model's per-round curve, from the training's logits trace, with the settings it used. */
export interface UnlearnedCurve {
  settings: UnlearnSettingsRecord;
  rounds: { round: number; testAccuracy: number; forget: number | null }[];
}

/** The evaluation, as stored (deterministic: no timings inside; they travel in the artifact's meta). */
export interface Metrics {
  dataset: string;
  model: string;
  mode: string;
  clients: number;
  unlearningClients: number[];
  forgottenClients: number[];
  rounds: number;
  /** The fraction of clients that trained each round, when not all of them did. */
  clientFraction?: number;
  backend: string;
  forgetMetric: ForgetMetric;
  testCount: number;
  forgetCount: number;
  forgetTrainCount: number;
  /** Backdoor modes: the target class. */
  target: number | null;
  /** Class mode: the forgotten class. */
  classId: number | null;
  /** The settings the unlearned model was made with. */
  settings: UnlearnSettingsRecord;
  original: ModelMetrics;
  unlearned: ModelMetrics;
  /** The retrain-from-scratch baseline, when the pipeline has one. */
  retrained: ModelMetrics | null;
  comparison: Comparison | null;
  curves: UnlearnedCurve | null;
  /**
   * Every unlearning method of the pipeline by id (`fedau`, `retrain`, `finetune`, `federaser`, ...), judged by the
   * same evaluation.
   */
  methods: Record<string, MethodMetrics>;
  /** Relearn time's settings; null where it is not measured (random-label mode). */
  relearn: RelearnRecord | null;
}

/** Canonical JSON: the same evaluation gives the same bytes, so the report stays cached when nothing changed. */
export function packMetrics(m: Metrics): Uint8Array {
  return new TextEncoder().encode(canonicalJson(m));
}

export function unpackMetrics(bytes: Uint8Array): Metrics {
  return JSON.parse(new TextDecoder().decode(bytes)) as Metrics;
}
