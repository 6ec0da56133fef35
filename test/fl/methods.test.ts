import { describe, expect, it } from 'vitest';
import type { TrainingRecipe } from '../../src/artifacts/federation.ts';
import type { Partition } from '../../src/artifacts/partition.ts';
import { packRecording, type RecordingHeader, unpackRecording } from '../../src/artifacts/recording.ts';
import { Rng } from '../../src/core/rng.ts';
import { amnesiacUnlearn } from '../../src/fl/methods/amnesiac.ts';
import { applyPruning, channelsToPrune, tfIdfScores } from '../../src/fl/methods/cdp.ts';
import { calibrate, federaserStrategy } from '../../src/fl/methods/federaser.ts';
import { fedRecoveryUnlearn, roundWeights } from '../../src/fl/methods/fedrecovery.ts';
import { pgaRadius, pgaReference, pgaStrategy } from '../../src/fl/methods/pga.ts';
import { fedAvgPhase } from '../../src/fl/methods/retained-fedavg.ts';
import { attackAuc, trainAttack } from '../../src/ml/eval/mia.ts';
import type { ClientResult } from '../../src/ml/train/job.ts';

/** A recording of a one-parameter model, from globals, locals and forget steps given by round. */
function recording(opts: {
  globals: number[][];
  participants: number[][];
  weights: number[][];
  locals?: Record<string, number[]>;
  steps?: Record<string, number[]>;
  every?: number;
}) {
  const rounds = opts.globals.length - 1;
  const sections: Record<string, Float32Array> = {};
  opts.globals.forEach((g, t) => {
    sections[`G/${t}`] = Float32Array.from(g);
  });
  for (const [tk, v] of Object.entries(opts.locals ?? {})) sections[`L/${tk}`] = Float32Array.from(v);
  for (const [tk, v] of Object.entries(opts.steps ?? {})) sections[`A/${tk}`] = Float32Array.from(v);
  const header: RecordingHeader = {
    rounds,
    every: opts.every ?? 1,
    participants: opts.participants,
    weights: opts.weights,
    localRounds: Array.from({ length: rounds }, (_, t) => t),
    forgetSteps: !!opts.steps,
    size: opts.globals[0].length,
  };
  return unpackRecording(packRecording(header, sections));
}

const recipe: TrainingRecipe = {
  rounds: 3,
  localEpochs: 2,
  batchSize: 4,
  lr: 0.1,
  momentum: 0,
  weightDecay: 0,
  augment: false,
  evalEvery: 1,
  model: 'lenet',
  lrDecay: 0.5,
  gamma: null,
  aggregation: 'size',
  seed: 1,
};

/** Three clients: 0 holds samples 0–3 (2 and 3 forgotten), 1 holds 4–5, 2 holds 6 (forgotten). */
const partition = {
  header: { clients: 3, unlearningClients: [0, 2], mode: 'samples' },
  offsets: Int32Array.of(0, 4, 6, 7),
  indices: Int32Array.of(0, 1, 2, 3, 4, 5, 6),
  forget: Uint8Array.of(0, 0, 1, 1, 0, 0, 1),
} as unknown as Partition;

const result = (client: number, weights: number[][], samples = 1): ClientResult => ({
  client,
  weights: weights.map((w) => Float32Array.from(w)),
  loss: 0,
  steps: 1,
  samples,
  ms: 1,
});

describe('each method’s core step, on hand-computed cases', () => {
  it('amnesiac: θ_T − Σ_t w_{t,u}·Δ_t[u], only over the rounds the client took part in', () => {
    const rec = recording({
      globals: [
        [0, 0],
        [0, 0],
        [0, 0],
      ],
      participants: [[1, 3], [3]],
      weights: [[0.5, 0.5], [1]],
      steps: { '0/3': [2, 2], '1/3': [4, 0], '0/1': [100, 100] },
    });
    // 1 − 0.5·2 − 1·4 = −4; 2 − 0.5·2 − 0 = 1. Client 1's steps are not subtracted: it is not forgotten.
    const { weights, storedBytes } = amnesiacUnlearn([Float32Array.of(1, 2)], rec, [3]);
    expect([...weights[0]]).toEqual([-4, 1]);
    expect(storedBytes).toBe(16);
  });

  it('fedrecovery: p_t = ‖ΔG_t‖²/Σ_{j<t}‖ΔG_j‖² (p_0 = 1), residual (ΔG_t − (L_t[u] − G_t)/m)/(m − 1)', () => {
    expect(roundWeights([Float32Array.of(2), Float32Array.of(1), Float32Array.of(2)])).toEqual([1, 0.25, 0.8]);
    const rec = recording({
      globals: [[0], [2], [3]],
      participants: [
        [0, 1],
        [0, 1],
      ],
      weights: [
        [0.5, 0.5],
        [0.5, 0.5],
      ],
      locals: { '0/1': [1], '1/1': [2.5] },
    });
    // Round 0: p 1, residual 2 − (1 − 0)/2 = 1.5. Round 1: p 1/4, residual 1 − (2.5 − 2)/2 = 0.75. 3 − 1.5 − 0.1875.
    const out = fedRecoveryUnlearn(rec, [1], { sigma: 0, rng: new Rng(0, 't'), sizes: [1], trainable: [true] });
    expect(out.weights[0][0]).toBeCloseTo(1.3125, 6);
    const noisy = fedRecoveryUnlearn(rec, [1], { sigma: 0.5, rng: new Rng(0, 't'), sizes: [1], trainable: [true] });
    expect(noisy.weights[0][0]).not.toBeCloseTo(1.3125, 6);
    expect(() =>
      fedRecoveryUnlearn({ ...rec, local: () => undefined }, [1], {
        sigma: 0,
        rng: new Rng(0, 't'),
        sizes: [1],
        trainable: [true],
      }),
    ).toThrow(/every: 1/);
  });

  it('federaser: the new update’s direction with the stored update’s length, per tensor; buffers take the new', () => {
    const out = calibrate(
      [Float32Array.of(3, 4), Float32Array.of(9)],
      [Float32Array.of(0, 2), Float32Array.of(-1)],
      [false, true],
    );
    expect([...out[0]]).toEqual([0, 5]);
    expect([...out[1]]).toEqual([-1]);
    const rec = recording({
      globals: [
        [0, 0],
        [1, 1],
      ],
      participants: [[0, 1]],
      weights: [[0.5, 0.5]],
      locals: { '0/0': [3, 4], '0/1': [0, 0] },
    });
    const { strategy, rounds } = federaserStrategy({
      partition,
      recipe,
      recording: rec,
      sizes: [2],
      isBuffer: [false],
    });
    expect(rounds).toBe(1);
    const state = { round: 0, weights: [Float32Array.of(1, 1)], heads: new Map(), history: [], seconds: 0 };
    // Round 0 replays stored round 0 with the clients that took part and keep data (0 and 1), fewer epochs if asked.
    const jobs = strategy.jobs(0, state);
    expect(jobs.map((j) => [j.client, j.samples, j.round, j.lr])).toEqual([
      [0, 'retain', 0, 0.1],
      [1, 'retain', 0, 0.1],
    ]);
    // Retained sizes 2 and 2: equal weights. ΔOld = mean(L − G_0) = (1.5, 2), length 2.5; ΔNew = mean(new − G') =
    // (0, 1): G'' = (1, 1) + 2.5·(0, 1).
    const next = strategy.aggregate(state, [result(0, [[1, 1]]), result(1, [[1, 3]])]);
    expect([...next.weights[0]]).toEqual([1, 3.5]);
  });

  it('pga: the reference is the others’ average model; the radius a fraction of its distance to a random model', () => {
    // G_T = 0.25·L_u + 0.75·others → others = (G_T − 0.25·L_u)/0.75.
    const ref = pgaReference([Float32Array.of(1)], [{ weight: 0.25, local: [Float32Array.of(4)] }]);
    expect(ref[0][0]).toBeCloseTo(0, 6);
    expect(pgaRadius([Float32Array.of(0, 0)], [Float32Array.of(3, 4)], 1 / 3)).toBeCloseTo(5 / 3, 6);
    const { strategy, rounds } = pgaStrategy({
      partition,
      recipe,
      firstRound: 3,
      forgotten: [0, 2],
      reference: ref,
      radius: 2,
      ascent: { epochs: 1, lr: 0.05 },
      rounds: 2,
    });
    expect(rounds).toBe(3);
    const state = { round: 0, weights: ref, heads: new Map(), history: [], seconds: 0 };
    const ascent = strategy.jobs(0, state);
    expect(ascent.map((j) => [j.client, j.samples, j.ascent?.radius, j.recipe.localEpochs, j.lr])).toEqual([
      [0, 'forget', 2, 1, 0.05],
      [2, 'forget', 2, 1, 0.05],
    ]);
    // Then FedAvg on the retained data, continuing the schedule at round T + 1.
    const after = strategy.jobs(1, { ...state, round: 1 });
    expect(after.map((j) => [j.client, j.samples, j.round])).toEqual([
      [0, 'retain', 4],
      [1, 'retain', 4],
    ]);
    expect(after[0].lr).toBeCloseTo(0.1 * 0.5 ** 4, 12);
  });

  it('cdp: TF-IDF per channel; the most discriminative share is pruned and zeroed', () => {
    const scores = tfIdfScores(
      [
        [4, 0, 0, 0],
        [4, 4, 4, 4],
      ],
      0,
    );
    // tf 4/8 each; idf ln(4/(1+1)) and ln(4/(1+4)).
    expect(scores[0]).toBeCloseTo(0.5 * Math.log(2), 12);
    expect(scores[1]).toBeCloseTo(0.5 * Math.log(0.8), 12);
    const pruned = channelsToPrune(
      [
        { weightIndex: 0, scores: [0.1, 0.9] },
        { weightIndex: 2, scores: [0.5] },
      ],
      0.5,
    );
    expect(pruned).toEqual([
      { weightIndex: 0, channel: 1 },
      { weightIndex: 2, channel: 0 },
    ]);
    const specs = [
      { name: 'conv1.weight', shape: [1, 2, 1, 2] },
      { name: 'conv1.bias', shape: [2] },
    ];
    const out = applyPruning([Float32Array.of(1, 2, 3, 4), Float32Array.of(5, 6)], specs, [
      { weightIndex: 0, channel: 1 },
    ]);
    expect([...out[0]]).toEqual([1, 0, 3, 0]);
    expect([...out[1]]).toEqual([5, 0]);
  });

  it('finetune: FedAvg on the retained data of every client that keeps some, continuing the lr schedule', () => {
    const phase = fedAvgPhase({ partition, recipe, samples: 'retain', firstRound: 3 });
    const state = { round: 0, weights: [Float32Array.of(0)], heads: new Map(), history: [], seconds: 0 };
    const jobs = phase.jobs(1, state);
    expect(jobs.map((j) => [j.client, j.round])).toEqual([
      [0, 4],
      [1, 4],
    ]);
    expect(jobs[0].lr).toBeCloseTo(0.1 * 0.5 ** 4, 12);
    // Weighted by retained size (2 and 2).
    const next = phase.aggregate(state, [result(0, [[2]]), result(1, [[4]])]);
    expect(next.weights[0][0]).toBe(3);
  });

  it('the classifier attack separates what differs and scores chance on what does not', () => {
    const rng = new Rng(3, 'mia');
    const sample = (shift: number, n: number) =>
      Array.from({ length: n }, () => Float64Array.of(rng.normal() + shift, rng.normal(), rng.normal()));
    const score = trainAttack(sample(-3, 200), sample(3, 200));
    expect(attackAuc(score, sample(-3, 100), sample(3, 100))).toBeGreaterThan(0.99);
    const same = attackAuc(score, sample(0, 400), sample(0, 400));
    expect(Math.abs(same - 0.5)).toBeLessThan(0.08);
  });
});
