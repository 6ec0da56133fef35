import type { TrainFederationParams } from '../generated/stage-params.ts';
import { packContainer, unpackContainer } from './container.ts';
import { type Head, type ModelHeader, readWeights, type Weights, weightSections } from './model.ts';
import type { UnlearnMode } from './partition.ts';

/**
 * Everything that decided how a federation trained, so that the retrain baseline can replay it exactly: the same
 * hyper-parameters, seed (initial weights, shuffles, augmentation) and aggregation, without the forget set. The
 * settings come from the train-federation schema (the generated params type); the rest is what they resolve to.
 */
export type TrainingRecipe = Pick<
  TrainFederationParams,
  'rounds' | 'localEpochs' | 'batchSize' | 'lr' | 'momentum' | 'weightDecay' | 'augment' | 'evalEvery'
> & {
  model: string;
  /** The lr of round r is lr·lrDecay^r. */
  lrDecay: number;
  /** The fraction of clients that train each round, recorded only below 1 (full participation). */
  clientFraction?: number;
  /** γ of the W2 re-anchoring, or null when it is off. */
  gamma: number | null;
  aggregation: 'equal' | 'size';
  seed: number;
};

export interface FederationHeader extends ModelHeader {
  rounds: number;
  clients: number;
  mode: UnlearnMode;
  unlearningClients: number[];
  backend: string;
  recipe: TrainingRecipe;
}

/** The trained federation: the global model and the auxiliary head W2, b2 of every unlearning client (design D15). */
export interface Federation {
  header: FederationHeader;
  weights: Weights;
  heads: Map<number, Head>;
}

export function packFederation(f: Federation): Uint8Array {
  const heads: Record<string, Float32Array> = {};
  for (const k of [...f.heads.keys()].sort((a, b) => a - b)) {
    heads[`w2:${k}`] = f.heads.get(k)!.weight;
    heads[`b2:${k}`] = f.heads.get(k)!.bias;
  }
  return packContainer('federation', f.header, { ...weightSections(f.header.specs, f.weights), ...heads });
}

export function unpackFederation(bytes: Uint8Array): Federation {
  const { header, sections } = unpackContainer<FederationHeader>(bytes, 'federation');
  const heads = new Map<number, Head>();
  for (const k of header.unlearningClients) {
    heads.set(k, { weight: sections[`w2:${k}`] as Float32Array, bias: sections[`b2:${k}`] as Float32Array });
  }
  return { header, weights: readWeights(header.specs, sections), heads };
}
