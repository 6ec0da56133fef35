import type { Dataset } from '../../artifacts/dataset.ts';
import type { Federation } from '../../artifacts/federation.ts';
import type { MethodRecord as BaseRecord, StoredModel, Weights } from '../../artifacts/model.ts';
import type { Partition } from '../../artifacts/partition.ts';
import { DataError } from '../../core/errors.ts';
import { FederatedSession, type TrainingContext } from '../session.ts';
import { trainOnSession } from '../session-train.ts';
import type { TrainState } from '../state.ts';
import type { Strategy } from '../strategy.ts';

/** The unlearning methods fedau runs beside FedAU, by the ids report.json uses (`methods.<id>`). */
export const METHOD_IDS = ['finetune', 'federaser', 'fedrecovery', 'amnesiac', 'pga', 'cdp'] as const;
export type MethodId = (typeof METHOD_IDS)[number];

/** What a method's model records of how it was made (deterministic: timings travel in the artifact's meta). */
export type MethodRecord = BaseRecord & { id: MethodId };

/** The modes a method is defined in (design §7). */
export function checkMode(id: MethodId, fed: Federation, modes: string[], stageId: string): void {
  const mode = fed.header.mode;
  if (modes.includes(mode) && fed.header.unlearningClients.length) return;
  throw new DataError(`${id} is defined for modes ${modes.join(', ')}, and this federation's mode is ${mode}`, {
    path: `stages.${stageId}`,
    expected: `a federation trained on a partition of mode ${modes.join(' or ')}, with unlearning clients`,
    got: `mode ${mode}, unlearning clients [${fed.header.unlearningClients.join(', ')}]`,
    hint: 'leave this method out of the pipeline for this mode (README "Unlearning methods" lists each one\'s modes)',
  });
}

/** A method's model: the federation's network with new weights and the record of how they were made. */
export function methodModel(fed: Federation, weights: Weights, method: MethodRecord): StoredModel {
  const { rounds: _r, clients: _c, mode: _m, unlearningClients: _u, backend: _b, recipe: _p, ...model } = fed.header;
  return { header: { ...model, method }, weights };
}

/**
 * Runs a method's federated rounds through the same core as the training (design §11): a session on this machine's
 * trainer threads or a cluster's workers, checkpointed every round and resumed, with progress; evaluated at the end.
 */
export async function trainMethod(
  ctx: TrainingContext,
  opts: {
    ds: Dataset;
    partition: Partition;
    fed: Federation;
    start: Weights;
    strategy: Strategy;
    rounds: number;
    label: string;
    /** Work on the session before the rounds (pruning reads activations with its backend). */
    before?: (session: FederatedSession) => Promise<void>;
    /** The start, when `before` decides it. */
    startOf?: () => Weights;
  },
): Promise<{ final: TrainState; backend: string }> {
  const { recipe } = opts.fed.header;
  const session = await FederatedSession.open(ctx, { ds: opts.ds, partition: opts.partition, ...recipe });
  try {
    await opts.before?.(session);
    const weights = opts.startOf?.() ?? opts.start;
    const start: TrainState = { round: 0, weights, heads: new Map(), history: [], seconds: 0 };
    if (opts.rounds === 0) return { final: start, backend: session.backend };
    const { final } = await trainOnSession(ctx, session, {
      strategy: opts.strategy,
      start,
      rounds: opts.rounds,
      evalEvery: opts.rounds,
      mode: opts.partition.header.mode,
      label: opts.label,
    });
    return { final, backend: session.backend };
  } finally {
    await session.close();
  }
}
