import type { Partition } from '../artifacts/partition.ts';
import { Rng } from '../core/rng.ts';
import type { PartitionParams } from '../generated/stage-params.ts';

export type { PartitionParams };

/** Thrown for a partition that cannot be made from these params and this dataset. */
export class PartitionInputError extends Error {
  readonly hint?: string;
  readonly path?: string;
  constructor(message: string, opts: { hint?: string; path?: string } = {}) {
    super(message);
    this.hint = opts.hint;
    this.path = opts.path;
  }
}

/**
 * Splits a training set over clients, as the reference's `cifar_iid_ul` / `cifar_beta` do, with the fixes of
 * design.md (decisions D1–D26): UL clients drawn by our seeded PRNG or listed (#3), UL samples split disjointly (#4),
 * target-class images never backdoored (#6), explicit labels per sample (#8), one routine for every dataset (#9).
 */
export function makePartition(labels: Uint8Array, classes: number, params: PartitionParams, seed: number): Partition {
  const rng = new Rng(seed, 'partition');
  const n = labels.length;
  const K = params.clients;
  const ulClients = chooseUnlearningClients(params, rng);
  const isUlClient = new Set(ulClients);
  if (params.mode === 'class' && params.classId >= classes)
    throw new PartitionInputError(`classId ${params.classId} is not a class of this dataset (0–${classes - 1})`, {
      path: 'classId',
    });
  if (params.target >= classes)
    throw new PartitionInputError(`target ${params.target} is not a class of this dataset (0–${classes - 1})`, {
      path: 'target',
    });

  const headA = new Uint8Array(labels);
  const headB = new Uint8Array(labels);
  const triggered = new Uint8Array(n);
  const forget = new Uint8Array(n);
  // Head B learns a uniformly random class other than `not`, fixed once per sample (design D26).
  const otherClass = (not: number) => {
    const r = rng.int(classes - 1);
    return r >= not ? r + 1 : r;
  };
  const markBackdoor = (i: number) => {
    triggered[i] = 1;
    forget[i] = 1;
    headA[i] = params.target;
    headB[i] = otherClass(params.target);
  };
  // The reference's random-label mode (`ul_samples`): no trigger; W1 keeps the true label, W2 learns a wrong one.
  const markRandomLabel = (i: number) => {
    forget[i] = 1;
    headB[i] = otherClass(labels[i]);
  };

  const lists: number[][] =
    params.scheme === 'iid'
      ? iidSplit(n, labels, K, ulClients, isUlClient, params, rng, classes)
      : dirichletSplit(labels, classes, K, params.beta, rng, params.mode === 'class' ? params.classId : -1, ulClients);

  if (params.mode === 'samples' || params.mode === 'client' || params.mode === 'random-label') {
    const ulSets =
      params.scheme === 'iid'
        ? (lists as IidLists).ulParts
        : drawUlFromClients(lists, ulClients, labels, params, rng, n);
    const mark = params.mode === 'random-label' ? markRandomLabel : markBackdoor;
    ulClients.forEach((k, j) => {
      for (const i of ulSets[j]) mark(i);
      if (params.scheme === 'dirichlet' && params.mode === 'client') {
        const mine = new Set(ulSets[j]);
        lists[k] = lists[k].filter((i) => mine.has(i));
      }
    });
  } else if (params.mode === 'class') {
    for (const k of ulClients) {
      for (const i of lists[k]) {
        // Every sample of a UL client teaches W2 the forgotten class (design §4.3, ul_class).
        headB[i] = params.classId;
        if (labels[i] === params.classId) forget[i] = 1;
      }
    }
  }

  const offsets = new Int32Array(K + 1);
  for (let k = 0; k < K; k++) offsets[k + 1] = offsets[k] + lists[k].length;
  const indices = new Int32Array(offsets[K]);
  for (let k = 0; k < K; k++) indices.set(lists[k], offsets[k]);
  const empty = lists.findIndex((l) => l.length === 0);
  if (empty >= 0 && params.scheme === 'iid')
    throw new PartitionInputError(`client ${empty} gets no samples`, { hint: 'use fewer clients or more data' });
  return {
    header: {
      clients: K,
      classes,
      trainCount: n,
      scheme: params.scheme,
      ...(params.scheme === 'dirichlet' ? { beta: params.beta } : {}),
      mode: params.mode,
      unlearningClients: ulClients,
      ...(params.mode === 'class' ? { classId: params.classId } : {}),
      ...(params.mode === 'samples' || params.mode === 'client'
        ? { target: params.target, trigger: params.trigger, proportion: params.proportion }
        : {}),
      ...(params.mode === 'random-label' ? { proportion: params.proportion } : {}),
      clientSizes: lists.map((l) => l.length),
      forgetCount: forget.reduce((a, b) => a + b, 0),
    },
    offsets,
    indices,
    headA,
    headB,
    triggered,
    forget,
  };
}

function chooseUnlearningClients(params: PartitionParams, rng: Rng): number[] {
  if (params.mode === 'none') return [];
  if (params.unlearningClientIds?.length) {
    const bad = params.unlearningClientIds.find((k) => k >= params.clients);
    if (bad !== undefined)
      throw new PartitionInputError(
        `unlearningClientIds contains ${bad}, but there are ${params.clients} clients (0–${params.clients - 1})`,
        { path: 'unlearningClientIds' },
      );
    if (new Set(params.unlearningClientIds).size !== params.unlearningClientIds.length)
      throw new PartitionInputError('unlearningClientIds lists a client twice', { path: 'unlearningClientIds' });
    return [...params.unlearningClientIds].sort((a, b) => a - b);
  }
  if (params.unlearningClients > params.clients) {
    throw new PartitionInputError(
      `unlearningClients is ${params.unlearningClients}, but there are only ${params.clients} clients`,
      { path: 'unlearningClients' },
    );
  }
  return rng
    .sample(
      Array.from({ length: params.clients }, (_, k) => k),
      params.unlearningClients,
    )
    .sort((a, b) => a - b);
}

type IidLists = number[][] & { ulParts: number[][] };

/** The backdoor pool: images of any class but the target (design D6), unless excludeTarget is off. */
/**
 * The samples that may join the forget set: for a backdoor, images of any class but the target (design D6), unless
 * excludeTarget is off; for random labels, any image (the reference draws from the whole training set).
 */
function forgetPool(labels: Uint8Array, params: PartitionParams, from?: Iterable<number>): number[] {
  const pool: number[] = [];
  const backdoor = params.mode !== 'random-label' && params.excludeTarget;
  for (const i of from ?? labels.keys()) if (!backdoor || labels[i] !== params.target) pool.push(i);
  return pool;
}

function iidSplit(
  n: number,
  labels: Uint8Array,
  K: number,
  ulClients: number[],
  isUl: Set<number>,
  params: PartitionParams,
  rng: Rng,
  classes: number,
): IidLists {
  let ulIdx: number[] = [];
  if (params.mode === 'samples' || params.mode === 'client' || params.mode === 'random-label') {
    const count = Math.floor(params.proportion * n);
    const pool = forgetPool(labels, params);
    if (count > pool.length)
      throw new PartitionInputError(
        `proportion ${params.proportion} asks for ${count} samples, but only ${pool.length} can join the forget set`,
        { path: 'proportion' },
      );
    ulIdx = rng.sample(pool, count);
  } else if (params.mode === 'class') {
    ulIdx = rng.shuffle(Array.from(labels.keys()).filter((i) => labels[i] === params.classId));
    if (!ulIdx.length)
      throw new PartitionInputError(`class ${params.classId} has no training images`, { path: 'classId' });
  }
  void classes;
  const nItems = Math.floor(n / K);
  const ulSet = new Set(ulIdx);
  const common = rng.shuffle(Array.from({ length: n }, (_, i) => i).filter((i) => !ulSet.has(i)));
  // Disjoint parts (design D4): shuffle, then n equal parts.
  const ulParts = splitEvenly(ulIdx, ulClients.length);
  let cursor = 0;
  const take = (count: number) => {
    const out = common.slice(cursor, cursor + Math.max(0, count));
    cursor += out.length;
    return out;
  };
  const lists = [] as unknown as IidLists;
  for (let k = 0; k < K; k++) {
    if (!isUl.has(k)) {
      lists.push(take(nItems));
      continue;
    }
    const part = ulParts[ulClients.indexOf(k)];
    // As the reference: the last client, when it is a UL client, takes all the rest of the pool.
    const clean = k === K - 1 ? take(common.length - cursor) : take(nItems - part.length);
    // Client mode: the client holds only its forget set; the clean share drawn for it stays unused (design §2.4).
    lists.push(params.mode === 'client' ? [...part] : rng.shuffle([...part, ...clean]));
  }
  lists.ulParts = ulParts;
  return lists;
}

/**
 * Per-class shares drawn from Dirichlet(beta). In class mode the forgotten class is shared out among the unlearning
 * clients only (with the same concentration), as the IID split does: forgetting them forgets the class from the
 * federation, which is what the class's test accuracy measures (design §2.4).
 */
function dirichletSplit(
  labels: Uint8Array,
  classes: number,
  K: number,
  beta: number,
  rng: Rng,
  forgottenClass: number,
  ulClients: number[],
): number[][] {
  const lists: number[][] = Array.from({ length: K }, () => []);
  for (let y = 0; y < classes; y++) {
    const idx = rng.shuffle(Array.from(labels.keys()).filter((i) => labels[i] === y));
    const holders = y === forgottenClass ? ulClients : Array.from({ length: K }, (_, k) => k);
    if (!holders.length) continue;
    const p = rng.dirichlet(beta, holders.length);
    let cursor = 0;
    holders.forEach((k, j) => {
      // Each holder gets floor(p_j·count); the last one the rounding remainder.
      const share = j === holders.length - 1 ? idx.length - cursor : Math.floor(p[j] * idx.length);
      lists[k].push(...idx.slice(cursor, cursor + share));
      cursor += share;
    });
  }
  return lists.map((l) => rng.shuffle(l));
}

/** `items` in `parts` consecutive runs whose sizes differ by at most one: nothing is left over. */
export function splitEvenly<T>(items: T[], parts: number): T[][] {
  const base = parts ? Math.floor(items.length / parts) : 0;
  const extra = parts ? items.length % parts : 0;
  const out: T[][] = [];
  let cursor = 0;
  for (let j = 0; j < parts; j++) {
    const size = base + (j < extra ? 1 : 0);
    out.push(items.slice(cursor, cursor + size));
    cursor += size;
  }
  return out;
}

function drawUlFromClients(
  lists: number[][],
  ulClients: number[],
  labels: Uint8Array,
  params: PartitionParams,
  rng: Rng,
  n: number,
): number[][] {
  const count = Math.floor(params.proportion * n);
  const shares = splitEvenly(Array.from({ length: count }), ulClients.length).map((s) => s.length);
  return ulClients.map((k, j) => {
    const pool = forgetPool(labels, params, lists[k]);
    // Non-IID clients can be small: take what there is, at most the asked share.
    return rng.sample(pool, Math.min(shares[j], pool.length));
  });
}
