import type { PartitionParams } from '../generated/stage-params.ts';
import { packContainer, unpackContainer } from './container.ts';

/**
 * What the unlearning clients forget: backdoored samples, a class, a whole backdoored client, or samples whose
 * auxiliary label is random (the reference's random-label mode); `none` trains a plain federation.
 */
export type UnlearnMode = PartitionParams['mode'];

export interface Trigger {
  /** Side of the square, in pixels. */
  size: number;
  /** Column and row of its top-left corner. */
  x: number;
  y: number;
  /** uint8 value written into every channel of the square (the reference writes 1; 255 is "white"). */
  value: number;
}

export interface PartitionHeader {
  clients: number;
  classes: number;
  trainCount: number;
  scheme: 'iid' | 'dirichlet';
  beta?: number;
  mode: UnlearnMode;
  /** Ids of the clients that may ask to be forgotten (they train the auxiliary head W2). */
  unlearningClients: number[];
  classId?: number;
  target?: number;
  trigger?: Trigger;
  proportion?: number;
  /** Samples per client, in client order. */
  clientSizes: number[];
  forgetCount: number;
}

/**
 * A split of the training set over clients, with explicit labels per sample (no packed integers):
 * `headA` is what the shared classifier W1 learns, `headB` what an unlearning client's W2 learns,
 * `triggered` marks images that get the backdoor square, `forget` marks the forget set.
 */
export interface Partition {
  header: PartitionHeader;
  /** CSR: client k owns `indices[offsets[k] .. offsets[k+1])`. */
  offsets: Int32Array;
  indices: Int32Array;
  headA: Uint8Array;
  headB: Uint8Array;
  triggered: Uint8Array;
  forget: Uint8Array;
}

export const PARTITION_KIND = 'partition';

export function packPartition(p: Partition): Uint8Array {
  return packContainer(PARTITION_KIND, p.header, {
    offsets: p.offsets,
    indices: p.indices,
    headA: p.headA,
    headB: p.headB,
    triggered: p.triggered,
    forget: p.forget,
  });
}

export function unpackPartition(bytes: Uint8Array): Partition {
  const { header, sections } = unpackContainer<PartitionHeader>(bytes, PARTITION_KIND);
  return {
    header,
    offsets: sections.offsets as Int32Array,
    indices: sections.indices as Int32Array,
    headA: sections.headA as Uint8Array,
    headB: sections.headB as Uint8Array,
    triggered: sections.triggered as Uint8Array,
    forget: sections.forget as Uint8Array,
  };
}

export function clientIndices(p: Partition, k: number): Int32Array {
  return p.indices.subarray(p.offsets[k], p.offsets[k + 1]);
}
