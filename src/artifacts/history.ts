import { canonicalJson } from '../core/hash.ts';

/**
 * One row of the per-round history. Metrics are present on evaluated rounds. Wall-clock time is not part of it:
 * the history is the same bytes on every run, so what depends on it stays cached (the training's time travels in
 * the artifact's meta).
 */
export interface RoundRecord {
  round: number;
  lr: number;
  /** Mean training loss over the round's samples. */
  loss: number;
  /** Training samples seen in the round (clients × local epochs; a retrain leaves out the forget set). */
  samples: number;
  /** The global model's test accuracy (evaluated rounds). */
  testAccuracy?: number;
  /** The global model's forget metric (evaluated rounds). */
  forget?: number;
  /** The clients that trained, when not every client does (partial participation). */
  participants?: number[];
}

/** The per-round history of a training (FedAU's, or the retrain's): what the report's curves draw. */
export interface History {
  model: string;
  dataset: string;
  mode: string;
  forgetMetric: string;
  rounds: RoundRecord[];
}

export function packHistory(h: History): Uint8Array {
  return new TextEncoder().encode(canonicalJson(h));
}

export function unpackHistory(bytes: Uint8Array): History {
  return JSON.parse(new TextDecoder().decode(bytes)) as History;
}
