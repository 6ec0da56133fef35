import { packContainer, unpackContainer } from '../data/container.ts';
import type { UnlearnMode } from '../data/partition.ts';
import type { ParamSpec, Weights } from './params.ts';
import type { Head } from './unlearn-op.ts';

/** What identifies a network in an artifact: enough to rebuild it and check its parameters. */
export interface ModelHeader {
  model: string;
  classes: number;
  inputShape: [number, number, number];
  dataset: string;
  specs: { name: string; shape: number[]; buffer?: boolean }[];
}

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

/** A single model (the unlearned one). */
export interface StoredModel {
  header: ModelHeader & { unlearned?: { clients: number[]; alpha: number; rule: string; classScale: number } };
  weights: Weights;
}

export function modelHeader(
  m: { name: string; classes: number; inputShape: [number, number, number]; specs: ParamSpec[] },
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

const weightSections = (specs: { name: string }[], weights: Weights) =>
  Object.fromEntries(specs.map((s, i) => [`p:${s.name}`, weights[i]]));
const readWeights = (specs: { name: string }[], sections: Record<string, unknown>) =>
  specs.map((s) => sections[`p:${s.name}`] as Float32Array);

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
  for (const k of header.unlearningClients)
    heads.set(k, { weight: sections[`w2:${k}`] as Float32Array, bias: sections[`b2:${k}`] as Float32Array });
  return { header, weights: readWeights(header.specs, sections), heads };
}

export function packModel(m: StoredModel): Uint8Array {
  return packContainer('model', m.header, weightSections(m.header.specs, m.weights));
}

export function unpackModel(bytes: Uint8Array): StoredModel {
  const { header, sections } = unpackContainer<StoredModel['header']>(bytes, 'model');
  return { header, weights: readWeights(header.specs, sections) };
}
