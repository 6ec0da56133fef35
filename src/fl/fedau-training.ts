import type { Dataset } from '../artifacts/dataset.ts';
import type { TrainingRecipe } from '../artifacts/federation.ts';
import type { Partition } from '../artifacts/partition.ts';
import type { EvalSets } from '../ml/eval/eval-sets.ts';
import type { ModelDef } from '../ml/models/model.ts';
import { initialState, type TrainState } from './federation.ts';
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
}

/**
 * FedAU's training (design §4), or the retrain-from-scratch baseline replaying the same recipe without the forget
 * set (design §6): one session, the FedAU strategy, from the seeded initial state.
 */
export async function trainFedau(
  ctx: TrainingContext,
  opts: { ds: Dataset; partition: Partition; recipe: TrainingRecipe; retrain: boolean },
): Promise<TrainedFederation> {
  const { ds, partition, recipe, retrain } = opts;
  const ph = partition.header;
  const session = await FederatedSession.open(ctx, { ds, partition, model: recipe.model, batchSize: recipe.batchSize });
  try {
    const fraction = recipe.clientFraction ?? 1;
    const who =
      `${ph.clients} clients${fraction < 1 ? ` (${Math.ceil(fraction * ph.clients)} a round)` : ''}` +
      (retrain
        ? `, ${ph.forgetCount} samples left out`
        : ` (unlearning: ${ph.unlearningClients.join(', ') || 'none'})`);
    const { final, trace } = await trainOnSession(ctx, session, {
      strategy: fedauStrategy({ model: session.model, partition, recipe, retrain }),
      start: initialState(session.model, partition, recipe.seed, retrain),
      rounds: recipe.rounds,
      evalEvery: recipe.evalEvery,
      mode: ph.mode,
      traceHeads: retrain ? undefined : [...ph.unlearningClients],
      label: `${retrain ? 'retraining without the forget set' : 'training'}: ${who}`,
    });
    return { model: session.model, backend: session.backend, final, sets: session.sets, trace };
  } finally {
    await session.close();
  }
}
