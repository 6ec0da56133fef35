import type { Weights } from '../../artifacts/model.ts';

/**
 * Class-discriminative pruning (Wang et al. 2022; design §7.4). `F[c][j]` is the mean activation of channel c on
 * images of class j. A channel's TF-IDF score for class u: tf = F[c][u] / Σ_c' F[c'][u] (its share of the class's
 * activation in its layer) times idf = ln(C / (1 + #{j : F[c][j] ≥ mean_j F[c][j]})) (rare among classes).
 */
export function tfIdfScores(F: number[][], u: number): number[] {
  const classes = F[0]?.length ?? 0;
  const total = F.reduce((s, row) => s + row[u], 0);
  return F.map((row) => {
    const mean = row.reduce((a, b) => a + b, 0) / classes;
    const active = row.filter((v) => v >= mean).length;
    const tf = total > 0 ? row[u] / total : 0;
    return tf * Math.log(classes / (1 + active));
  });
}

export interface PrunedChannel {
  /** The convolution's weight, as an index into the model's specs. */
  weightIndex: number;
  channel: number;
}

/**
 * The channels to prune: the `fraction` of all convolution channels with the highest scores for the class (the
 * paper's choice; the reference keeps these by mistake and prunes the least discriminative). Ties go to the
 * earlier layer and channel, so the choice is a pure function of the scores.
 */
export function channelsToPrune(
  layers: { weightIndex: number; scores: number[] }[],
  fraction: number,
): PrunedChannel[] {
  const all = layers.flatMap((l) => l.scores.map((score, channel) => ({ weightIndex: l.weightIndex, channel, score })));
  const count = Math.min(all.length, Math.ceil(fraction * all.length));
  return all
    .map((c, order) => ({ ...c, order }))
    .sort((a, b) => b.score - a.score || a.order - b.order)
    .slice(0, count)
    .map(({ weightIndex, channel }) => ({ weightIndex, channel }));
}

/**
 * The model with the pruned channels zeroed: the convolution's filters for that output channel (the last axis of
 * its weight) and, when the next parameter is its bias, the bias.
 */
export function applyPruning(
  weights: Weights,
  specs: { name: string; shape: number[] }[],
  pruned: PrunedChannel[],
): Weights {
  const out = weights.map((w) => w.slice());
  for (const { weightIndex, channel } of pruned) {
    const shape = specs[weightIndex].shape;
    const cout = shape[shape.length - 1];
    const w = out[weightIndex];
    for (let i = channel; i < w.length; i += cout) w[i] = 0;
    const next = specs[weightIndex + 1];
    if (next?.name.endsWith('.bias') && next.shape.length === 1 && next.shape[0] === cout)
      out[weightIndex + 1][channel] = 0;
  }
  return out;
}
