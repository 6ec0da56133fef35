/**
 * Scores of a model's outputs, as pure functions of logits and labels. `logits` are row-major [count × classes].
 */

/** The predicted class of each row. */
export function argmax(logits: Float32Array, classes: number): Int32Array {
  const out = new Int32Array(logits.length / classes);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** The fraction of predictions equal to `expected`, over the rows `mask` keeps (all when absent). */
export function accuracy(pred: Int32Array, expected: Int32Array, mask?: Uint8Array): number {
  let hits = 0;
  let total = 0;
  for (let i = 0; i < pred.length; i++) {
    if (mask && !mask[i]) continue;
    total++;
    if (pred[i] === expected[i]) hits++;
  }
  return total ? hits / total : 0;
}

/** Accuracy on the samples of each class, indexed by class (0 for a class with no samples). */
export function perClassAccuracy(pred: Int32Array, labels: Int32Array, classes: number): number[] {
  const hits = new Array<number>(classes).fill(0);
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < pred.length; i++) {
    counts[labels[i]]++;
    if (pred[i] === labels[i]) hits[labels[i]]++;
  }
  return hits.map((h, c) => (counts[c] ? h / counts[c] : 0));
}

/** The fraction of rows where two models predict the same class. */
export function agreement(a: Int32Array, b: Int32Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return a.length ? same / a.length : 0;
}

/** log softmax of one row, in float64. */
function logSoftmaxRow(logits: Float32Array, row: number, classes: number, out: Float64Array): void {
  let max = -Infinity;
  for (let c = 0; c < classes; c++) max = Math.max(max, logits[row * classes + c]);
  let sum = 0;
  for (let c = 0; c < classes; c++) sum += Math.exp(logits[row * classes + c] - max);
  const log = max + Math.log(sum);
  for (let c = 0; c < classes; c++) out[c] = logits[row * classes + c] - log;
}

/** Mean over rows of KL(p ‖ q), p and q the softmax of the two models' logits, in nats. */
export function meanKl(p: Float32Array, q: Float32Array, classes: number): number {
  const rows = p.length / classes;
  const lp = new Float64Array(classes);
  const lq = new Float64Array(classes);
  let total = 0;
  for (let i = 0; i < rows; i++) {
    logSoftmaxRow(p, i, classes, lp);
    logSoftmaxRow(q, i, classes, lq);
    for (let c = 0; c < classes; c++) total += Math.exp(lp[c]) * (lp[c] - lq[c]);
  }
  return rows ? total / rows : 0;
}

/** The cross-entropy loss of each row against its label. */
export function crossEntropyPerRow(logits: Float32Array, labels: Int32Array, classes: number): Float64Array {
  const out = new Float64Array(labels.length);
  const lp = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) {
    logSoftmaxRow(logits, i, classes, lp);
    out[i] = -lp[labels[i]];
  }
  return out;
}

/**
 * The ROC AUC of an attack that calls a sample a member when its loss is low: the probability that a random
 * member has a lower loss than a random non-member, ties counting half (the Mann–Whitney statistic). 0.5 means
 * the attack cannot tell the two apart.
 */
export function membershipAuc(memberLoss: Float64Array, nonMemberLoss: Float64Array): number {
  const m = memberLoss.length;
  const n = nonMemberLoss.length;
  if (!m || !n) return 0.5;
  const all = [
    ...Array.from(memberLoss, (v) => ({ v, member: true })),
    ...Array.from(nonMemberLoss, (v) => ({ v, member: false })),
  ];
  all.sort((a, b) => a.v - b.v);
  // Rank from the highest loss down: a member ranked above (lower loss than) a non-member is a correct call.
  let correct = 0;
  let nonMembersAbove = n;
  for (let i = 0; i < all.length; ) {
    let j = i;
    let members = 0;
    let others = 0;
    for (; j < all.length && all[j].v === all[i].v; j++) all[j].member ? members++ : others++;
    nonMembersAbove -= others;
    correct += members * (nonMembersAbove + others / 2);
    i = j;
  }
  return correct / (m * n);
}
