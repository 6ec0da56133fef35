import type { Dataset } from '../artifacts/dataset.ts';
import type { TrainingRecipe } from '../artifacts/federation.ts';
import type { Partition } from '../artifacts/partition.ts';
import type { EvalSets } from '../ml/eval/eval-sets.ts';
import type { ModelDef } from '../ml/models/model.ts';
import type { ClientResult } from '../ml/train/job.ts';
import { initialState, type TrainState } from './federation.ts';
import type { RecordOptions } from './recording.ts';
import { FederatedSession, type TrainingContext } from './session.ts';
import { trainOnSession } from './session-train.ts';
import { fedauStrategy } from './strategy.ts';

export interface TrainedFederation {
  model: ModelDef;
  backend: string;
  final: TrainState;
  sets: EvalSets;
  /** FedAU only (not a retrain): the per-round logits of W1 and every W2 on the evaluation sets. */
  trace?: Uint8Array;
  /** What was recorded for the methods that need the training's past, when asked (with its cost in seconds). */
  recording?: { bytes: Uint8Array; seconds: number };
  /** Seconds the unlearning clients spent beyond what normal clients take for as many samples (their W2). */
  auxSeconds: number;
}

/**
 * FedAU's training (design §4), or the retrain-from-scratch baseline replaying the same recipe without the forget
 * set (design §6): one session, the FedAU strategy, from the seeded initial state.
 */
export async function trainFedau(
  ctx: TrainingContext,
  opts: { ds: Dataset; partition: Partition; recipe: TrainingRecipe; retrain: boolean; record?: RecordOptions },
): Promise<TrainedFederation> {
  const { ds, partition, recipe, retrain, record } = opts;
  const ph = partition.header;
  const session = await FederatedSession.open(ctx, { ds, partition, model: recipe.model, batchSize: recipe.batchSize });
  try {
    const fraction = recipe.clientFraction ?? 1;
    const who =
      `${ph.clients} clients${fraction < 1 ? ` (${Math.ceil(fraction * ph.clients)} a round)` : ''}` +
      (retrain
        ? `, ${ph.forgetCount} samples left out`
        : ` (unlearning: ${ph.unlearningClients.join(', ') || 'none'})`);
    const { final, trace, recording, extraSeconds } = await trainOnSession(ctx, session, {
      strategy: fedauStrategy({
        model: session.model,
        partition,
        recipe,
        retrain,
        recordForgetSteps: record?.forgetSteps,
      }),
      record,
      extraSeconds: retrain ? undefined : (results) => auxiliarySeconds(results, new Set(ph.unlearningClients)),
      start: initialState(session.model, partition, recipe.seed, retrain),
      rounds: recipe.rounds,
      evalEvery: recipe.evalEvery,
      mode: ph.mode,
      traceHeads: retrain ? undefined : [...ph.unlearningClients],
      label: `${retrain ? 'retraining without the forget set' : 'training'}: ${who}`,
    });
    return {
      model: session.model,
      backend: session.backend,
      final,
      sets: session.sets,
      trace,
      recording,
      auxSeconds: extraSeconds,
    };
  } finally {
    await session.close();
  }
}

/**
 * FedAU's cost during training (design §12): what the unlearning clients' jobs took beyond the normal clients' median
 * time per sample for as many samples. An estimate (clients share cores), never below zero.
 */
export function auxiliarySeconds(results: ClientResult[], unlearning: Set<number>): number {
  const perSample = results
    .filter((r) => !unlearning.has(r.client) && r.samples > 0)
    .map((r) => r.ms / r.samples)
    .sort((a, b) => a - b);
  if (!perSample.length) return 0;
  const median = perSample[Math.floor(perSample.length / 2)];
  return results
    .filter((r) => unlearning.has(r.client))
    .reduce((s, r) => s + Math.max(0, r.ms - median * r.samples) / 1000, 0);
}
