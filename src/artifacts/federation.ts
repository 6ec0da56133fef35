import { packContainer, unpackContainer } from './container.ts';
import { type Head, type ModelHeader, readWeights, type Weights, weightSections } from './model.ts';
import type { UnlearnMode } from './partition.ts';

/**
 * Everything that decided how a federation trained, so that the retrain baseline can replay it exactly: the same
 * hyper-parameters, seed (initial weights, shuffles, augmentation) and aggregation, without the forget set.
 */
export interface TrainingRecipe {
  model: string;
  rounds: number;
  localEpochs: number;
  batchSize: number;
  lr: number;
  lrDecay: number;
  momentum: number;
  weightDecay: number;
  augment: boolean;
  /** γ of the W2 re-anchoring, or null when it is off. */
  gamma: number | null;
  aggregation: 'equal' | 'size';
  evalEvery: number;
  seed: number;
}

export interface FederationHeader extends ModelHeader {
  rounds: number;
  clients: number;
  mode: UnlearnMode;
  unlearningClients: number[];
  backend: string;
  recipe: TrainingRecipe;
}

/** The trained federation: the global model and the auxiliary head W2, b2 of every unlearning client (§8 #15). */
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
