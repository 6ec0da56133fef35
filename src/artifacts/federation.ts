import { packContainer, unpackContainer } from './container.ts';
import { type Head, type ModelHeader, readWeights, type Weights, weightSections } from './model.ts';
import type { UnlearnMode } from './partition.ts';

export interface FederationHeader extends ModelHeader {
  rounds: number;
  clients: number;
  mode: UnlearnMode;
  unlearningClients: number[];
  backend: string;
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
