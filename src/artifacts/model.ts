import type { UnlearnParams } from '../generated/stage-params.ts';
import { packContainer, unpackContainer } from './container.ts';

/** A model's parameters as one Float32Array per parameter, in the model's spec order. */
export type Weights = Float32Array[];

/** A classifier layer: W ([features, classes]) and b ([classes]). FedAU's W1 and every client's W2 are heads. */
export interface Head {
  weight: Float32Array;
  bias: Float32Array;
}

/** What identifies a network in an artifact: enough to rebuild it and check its parameters. */
export interface ModelHeader {
  model: string;
  classes: number;
  inputShape: [number, number, number];
  dataset: string;
  specs: { name: string; shape: number[]; buffer?: boolean }[];
}

/** The unlearning that produced a model: its settings and the clients it forgot. */
export type UnlearnedWith = Pick<UnlearnParams, 'alpha' | 'rule' | 'classScale' | 'clients'>;

/** How another unlearning method made a model (design §7): its id, the clients forgotten, and its cost. */
export interface MethodRecord {
  id: string;
  clients: number[];
  /** Communication rounds it ran. */
  rounds: number;
  /** Bytes of the training's past it kept and read (recorded updates, auxiliary heads). */
  storageBytes: number;
  params: Record<string, unknown>;
}

/** A single model: the unlearned one, the retrained baseline, or another method's. */
export interface StoredModel {
  header: ModelHeader & {
    unlearned?: UnlearnedWith;
    retrained?: { rounds: number; excluded: number };
    method?: MethodRecord;
  };
  weights: Weights;
}

export function modelHeader(
  m: { name: string; classes: number; inputShape: [number, number, number]; specs: ModelHeader['specs'] },
  dataset: string,
): ModelHeader {
  return {
    model: m.name,
    classes: m.classes,
    inputShape: m.inputShape,
    dataset,
    specs: m.specs.map((s) => ({ name: s.name, shape: s.shape, ...(s.buffer ? { buffer: true } : {}) })),
  };
}

export const weightSections = (specs: { name: string }[], weights: Weights) =>
  Object.fromEntries(specs.map((s, i) => [`p:${s.name}`, weights[i]]));
export const readWeights = (specs: { name: string }[], sections: Record<string, unknown>) =>
  specs.map((s) => sections[`p:${s.name}`] as Float32Array);

export function packModel(m: StoredModel): Uint8Array {
  return packContainer('model', m.header, weightSections(m.header.specs, m.weights));
}

export function unpackModel(bytes: Uint8Array): StoredModel {
  const { header, sections } = unpackContainer<StoredModel['header']>(bytes, 'model');
  return { header, weights: readWeights(header.specs, sections) };
}
