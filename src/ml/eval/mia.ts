import type { Dataset } from '../../artifacts/dataset.ts';
import type { Partition } from '../../artifacts/partition.ts';
import { Rng } from '../../core/rng.ts';
import { stampedTrainImages } from '../train/train-data.ts';
import { type EvalSet, type EvalSets, evalSetOf } from './eval-sets.ts';
import { membershipAuc } from './scores.ts';

/**
 * A stronger membership-inference attack than the loss threshold (the "MIA efficacy" of recent unlearning papers):
 * a logistic-regression classifier on each sample's loss, top confidence and prediction entropy, trained on the
 * model's outputs for retained training samples (members) against unseen test samples (non-members), then applied
 * to the forget set against matched unseen samples. Reported as the ROC AUC of its member score (0.5 = chance).
 */

/** The sets the attack trains on, and which rows of the forget metric's non-members it is judged on. */
export interface AttackSets {
  members: EvalSet;
  nonMembers: EvalSet;
  /** Rows of `sets.nonMembers` whose test image is not among `nonMembers`' images. */
  heldOutRows: number[];
}

/**
 * Seeded: up to `size` retained training samples (labels as trained), and up to `size` test images from one half of
 * the test set (true labels); the attack is judged on the forget metric's non-members from the other half.
 */
export function makeAttackSets(ds: Dataset, partition: Partition, sets: EvalSets, size = 1000): AttackSets | undefined {
  if (!sets.nonMembers || !sets.forgetTrain) return undefined;
  const rng = new Rng(0, 'mia/sets');
  const testCount = ds.testLabels.length;
  const order = rng.shuffle(Array.from({ length: testCount }, (_, i) => i));
  const halfA = order.slice(0, Math.floor(testCount / 2));
  const retained = [...partition.forget.keys()].filter((i) => !partition.forget[i]);
  const memberIdx = rng.sample(retained, Math.min(size, retained.length));
  const images = stampedTrainImages(ds, partition);
  const members = evalSetOf(ds, 'retained training samples', images, memberIdx, (i) => partition.headA[i]);
  const nonIdx = halfA.slice(0, size);
  const nonMembers = evalSetOf(ds, 'unseen test images', ds.testImages, nonIdx, (i) => ds.testLabels[i]);
  // The non-members' test images in row order: given for the backdoor's and the class's; the whole test set else.
  const source = sets.nonMembersTestIndex ?? [...Array(sets.nonMembers.count).keys()];
  const inA = new Set(halfA);
  const heldOutRows = source.flatMap((testIndex, row) => (inA.has(testIndex) ? [] : [row]));
  return { members, nonMembers, heldOutRows };
}

/** Per sample: the loss against its label, the top softmax probability, and the entropy of the softmax. */
export function attackFeatures(logits: Float32Array, labels: Int32Array, classes: number): Float64Array[] {
  const rows: Float64Array[] = [];
  const p = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[i * classes + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += p[c] = Math.exp(logits[i * classes + c] - max);
    let entropy = 0;
    let top = 0;
    for (let c = 0; c < classes; c++) {
      p[c] /= sum;
      if (p[c] > 0) entropy -= p[c] * Math.log(p[c]);
      top = Math.max(top, p[c]);
    }
    rows.push(Float64Array.of(-Math.log(Math.max(p[labels[i]], 1e-12)), top, entropy));
  }
  return rows;
}

/** A logistic regression on standardised features, by full-batch gradient descent, classes weighted equally. */
export function trainAttack(
  members: Float64Array[],
  nonMembers: Float64Array[],
  iterations = 500,
): (f: Float64Array) => number {
  const all = [...members, ...nonMembers];
  const d = all[0]?.length ?? 0;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const f of all) for (let j = 0; j < d; j++) mean[j] += f[j] / all.length;
  for (const f of all) for (let j = 0; j < d; j++) std[j] += (f[j] - mean[j]) ** 2 / all.length;
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]) || 1;
  const z = (f: Float64Array) => Float64Array.from(f, (v, j) => (v - mean[j]) / std[j]);
  const data = [...members.map((f) => ({ x: z(f), y: 1 })), ...nonMembers.map((f) => ({ x: z(f), y: 0 }))];
  const weightOf = (y: number) => 0.5 / (y ? members.length : nonMembers.length);
  const w = new Float64Array(d);
  let b = 0;
  for (let it = 0; it < iterations; it++) {
    const gw = new Float64Array(d);
    let gb = 0;
    for (const { x, y } of data) {
      let s = b;
      for (let j = 0; j < d; j++) s += w[j] * x[j];
      const err = (1 / (1 + Math.exp(-s)) - y) * weightOf(y);
      for (let j = 0; j < d; j++) gw[j] += err * x[j];
      gb += err;
    }
    for (let j = 0; j < d; j++) w[j] -= 1 * gw[j];
    b -= 1 * gb;
  }
  return (f) => {
    const x = z(f);
    let s = b;
    for (let j = 0; j < d; j++) s += w[j] * x[j];
    return s;
  };
}

/** The attack's ROC AUC at telling `forget` (members, if remembered) from `heldOut` (never seen). */
export function attackAuc(score: (f: Float64Array) => number, forget: Float64Array[], heldOut: Float64Array[]): number {
  // membershipAuc ranks lower values as members: pass the negated member score.
  return membershipAuc(
    Float64Array.from(forget, (f) => -score(f)),
    Float64Array.from(heldOut, (f) => -score(f)),
  );
}
