import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import {
  accuracy,
  agreement,
  argmax,
  crossEntropyPerRow,
  meanKl,
  membershipAuc,
  perClassAccuracy,
} from '../../src/ml/eval/scores.ts';
import { unlearnClassifier, unlearnedLogits } from '../../src/ml/fedau/unlearn-op.ts';
import { epochBatches } from '../../src/ml/train/epoch-batches.ts';

const f32 = (xs: number[]) => Float32Array.from(xs);
const i32 = (xs: number[]) => Int32Array.from(xs);

describe('scores', () => {
  it('argmax, accuracy with a mask, per-class accuracy and agreement', () => {
    const pred = argmax(f32([0.1, 0.9, 0.8, 0.2, 0.3, 0.7]), 2);
    expect([...pred]).toEqual([1, 0, 1]);
    expect(accuracy(pred, i32([1, 1, 1]))).toBeCloseTo(2 / 3);
    expect(accuracy(pred, i32([1, 1, 1]), Uint8Array.from([1, 0, 1]))).toBe(1);
    expect(perClassAccuracy(pred, i32([1, 0, 0]), 3)).toEqual([0.5, 1, 0]);
    expect(agreement(pred, i32([1, 1, 1]))).toBeCloseTo(2 / 3);
  });

  it('KL divergence: zero for equal outputs, the closed form otherwise', () => {
    const p = f32([2, 0, 1, 1]);
    expect(meanKl(p, p, 2)).toBeCloseTo(0, 12);
    // Row 1: p = softmax(2, 0), q = softmax(0, 0) = (½, ½); row 2: equal.
    const p1 = Math.exp(2) / (Math.exp(2) + 1);
    const expected = (p1 * Math.log(p1 / 0.5) + (1 - p1) * Math.log((1 - p1) / 0.5)) / 2;
    expect(meanKl(p, f32([0, 0, 1, 1]), 2)).toBeCloseTo(expected, 10);
  });

  it('cross-entropy per row', () => {
    const ce = crossEntropyPerRow(f32([0, 0, Math.log(3), 0]), i32([0, 0]), 2);
    expect(ce[0]).toBeCloseTo(Math.log(2), 10);
    expect(ce[1]).toBeCloseTo(-Math.log(3 / 4), 6);
  });

  it('membership AUC: 1 when every member has the lower loss, 0.5 when the losses are alike, ties count half', () => {
    expect(membershipAuc(Float64Array.from([0.1, 0.2]), Float64Array.from([0.5, 0.9]))).toBe(1);
    expect(membershipAuc(Float64Array.from([0.5, 0.9]), Float64Array.from([0.1, 0.2]))).toBe(0);
    expect(membershipAuc(Float64Array.from([1, 1]), Float64Array.from([1, 1, 1]))).toBe(0.5);
    // Members {0.1, 0.5}, non-members {0.3, 0.5}: pairs won 1 (0.1<0.3) + 1 (0.1<0.5) + 0 + ½ (tie) = 2.5 of 4.
    expect(membershipAuc(Float64Array.from([0.1, 0.5]), Float64Array.from([0.3, 0.5]))).toBe(0.625);
    const rng = new Rng(3, 'auc');
    const same = () => Float64Array.from({ length: 4000 }, () => rng.next());
    expect(membershipAuc(same(), same())).toBeGreaterThan(0.47);
    expect(membershipAuc(same(), same())).toBeLessThan(0.53);
  });

  it("the unlearned model's logits from the parts' logits equal the logits of the unlearned classifier", () => {
    const rng = new Rng(5, 'heads');
    const [F, C, N] = [6, 4, 7];
    const head = () => ({
      weight: Float32Array.from({ length: F * C }, () => rng.normal()),
      bias: Float32Array.from({ length: C }, () => rng.normal()),
    });
    const w1 = head();
    const w2 = [head(), head()];
    const z = Float32Array.from({ length: N * F }, () => rng.normal());
    const logitsOf = (h: { weight: Float32Array; bias: Float32Array }) => {
      const out = new Float32Array(N * C);
      for (let i = 0; i < N; i++)
        for (let c = 0; c < C; c++) {
          let s = h.bias[c];
          for (let f = 0; f < F; f++) s += z[i * F + f] * h.weight[f * C + c];
          out[i * C + c] = s;
        }
      return out;
    };
    const parts = [w1, ...w2].map(logitsOf);
    const interleaved = new Float32Array(N * 3 * C);
    for (let i = 0; i < N; i++)
      for (const [h, p] of parts.entries()) interleaved.set(p.subarray(i * C, (i + 1) * C), (i * 3 + h) * C);
    for (const settings of [
      { mode: 'samples' as const, alpha: 0.7, rule: 'mix' as const, classScale: 1 },
      { mode: 'samples' as const, alpha: 0.9, rule: 'w2only' as const, classScale: 1 },
      { mode: 'class' as const, alpha: 0.9, rule: 'mix' as const, classScale: 0.5 },
    ]) {
      const direct = logitsOf(unlearnClassifier(w1, w2, settings));
      const mixed = unlearnedLogits(interleaved, 3, C, [1, 2], settings);
      for (let i = 0; i < direct.length; i++) expect(mixed[i]).toBeCloseTo(direct[i], 4);
    }
  });
});

describe('epoch batches', () => {
  const order = [5, 2, 8, 1, 9, 0, 7];
  let drawn = 0;
  const draw = () => ({ dy: drawn++, dx: 0, flip: false });

  it('cuts the shuffled order into batches, drawing one augmentation per sample in order', () => {
    drawn = 0;
    const batches = [...epochBatches(order, 3, draw)];
    expect(batches.map((b) => b.indices)).toEqual([[5, 2, 8], [1, 9, 0], [7]]);
    expect(batches.flatMap((b) => b.augmentations.map((a) => (a as { dy: number }).dy))).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('a retrain skips the forget set, and every remaining sample keeps its order and its augmentation', () => {
    drawn = 0;
    const skip = new Uint8Array(10);
    skip[2] = skip[9] = 1;
    const batches = [...epochBatches(order, 3, draw, skip)];
    const seen = batches.flatMap((b) => b.indices);
    expect(seen).toEqual([5, 8, 1, 0, 7]);
    expect(seen.some((i) => skip[i])).toBe(false);
    // The augmentations are those the same samples got without skipping (position in the full order).
    expect(batches.flatMap((b) => b.augmentations.map((a) => (a as { dy: number }).dy))).toEqual([0, 2, 3, 5, 6]);
    expect(drawn).toBe(7);
  });
});
