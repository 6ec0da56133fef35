import { describe, expect, it } from 'vitest';
import { clientIndices, packPartition, unpackPartition } from '../../src/artifacts/partition.ts';
import { Rng } from '../../src/core/rng.ts';
import { makePartition, type PartitionParams } from '../../src/data/partition.ts';
import { SAMPLES_PARTITION } from '../helpers/partition-params.ts';

const N = 6000;
const C = 10;
/** Labels with roughly equal classes in a random order. */
const labels = (() => {
  const rng = new Rng(7, 'labels');
  return rng.shuffle(Uint8Array.from({ length: N }, (_, i) => i % C));
})();
const base: PartitionParams = SAMPLES_PARTITION;
const make = (p: Partial<PartitionParams>, seed = 1) => makePartition(labels, C, { ...base, ...p }, seed);
const owners = (part: ReturnType<typeof make>) => {
  const owner = new Int32Array(N).fill(-1);
  for (let k = 0; k < part.header.clients; k++)
    for (const i of clientIndices(part, k)) {
      expect(owner[i], `sample ${i} given twice`).toBe(-1);
      owner[i] = k;
    }
  return owner;
};

describe('partition', () => {
  it('IID: every sample goes to exactly one client, in equal shares', () => {
    const part = make({});
    const owner = owners(part);
    expect(owner.every((k) => k >= 0)).toBe(true);
    expect(part.header.clientSizes).toEqual(Array(10).fill(600));
  });

  it('samples mode: the forget set is proportion·N backdoored samples of the UL client, never of the target', () => {
    const part = make({});
    const owner = owners(part);
    const [ul] = part.header.unlearningClients;
    const forget = [...part.forget.keys()].filter((i) => part.forget[i]);
    expect(forget).toHaveLength(60);
    for (const i of forget) {
      expect(owner[i]).toBe(ul);
      expect(part.triggered[i]).toBe(1);
      expect(labels[i]).not.toBe(0);
      expect(part.headA[i]).toBe(0);
      expect(part.headB[i]).not.toBe(0);
    }
    // Everything else keeps its true label on both heads.
    for (let i = 0; i < N; i++)
      if (!part.forget[i]) expect([part.headA[i], part.headB[i], part.triggered[i]]).toEqual([labels[i], labels[i], 0]);
  });

  it('random-label mode: no trigger; W1 keeps the true label, W2 learns a wrong one, fixed per sample', () => {
    const part = make({ mode: 'random-label', proportion: 0.02 });
    const owner = owners(part);
    const forgotten = [...part.forget.keys()].filter((i) => part.forget[i]);
    expect(forgotten).toHaveLength(0.02 * N);
    const k = part.header.unlearningClients[0];
    expect(forgotten.every((i) => owner[i] === k)).toBe(true);
    expect(part.triggered.every((t) => t === 0)).toBe(true);
    expect(part.header.trigger).toBeUndefined();
    for (const i of forgotten) {
      expect(part.headA[i]).toBe(labels[i]);
      expect(part.headB[i]).not.toBe(labels[i]);
    }
    // Any class may be forgotten (no target to keep out), and the wrong labels spread over the classes.
    expect(new Set(forgotten.map((i) => labels[i])).size).toBe(C);
    expect(new Set(forgotten.map((i) => part.headB[i])).size).toBe(C);
    const clean = [...part.forget.keys()].filter((i) => !part.forget[i]);
    expect(clean.every((i) => part.headA[i] === labels[i] && part.headB[i] === labels[i])).toBe(true);
  });

  it('is a pure function of the seed', () => {
    expect(packPartition(make({}, 3))).toEqual(packPartition(make({}, 3)));
    expect(packPartition(make({}, 3))).not.toEqual(packPartition(make({}, 4)));
    const round = unpackPartition(packPartition(make({}, 3)));
    expect(round.header).toEqual(make({}, 3).header);
    expect([...round.indices]).toEqual([...make({}, 3).indices]);
  });

  it('several unlearning clients get disjoint forget sets (reference §8 #4); explicit ids are honoured', () => {
    const part = make({ unlearningClientIds: [1, 5, 8], proportion: 0.03 });
    expect(part.header.unlearningClients).toEqual([1, 5, 8]);
    const owner = owners(part);
    const perClient = [1, 5, 8].map(
      (k) => [...part.forget.keys()].filter((i) => part.forget[i] && owner[i] === k).length,
    );
    expect(perClient).toEqual([60, 60, 60]);
  });

  it('class mode with one unlearning client: it holds the whole class and no one else does', () => {
    const part = make({ mode: 'class', classId: 9 });
    const owner = owners(part);
    const [ul] = part.header.unlearningClients;
    for (let i = 0; i < N; i++) if (labels[i] === 9) expect(owner[i]).toBe(ul);
    for (const i of clientIndices(part, ul)) expect(part.headB[i]).toBe(9);
    expect(part.header.forgetCount).toBe(labels.filter((l) => l === 9).length);
  });

  it('a forget set that does not divide over the unlearning clients keeps every sample (the remainder shared)', () => {
    // 61 samples over 3 clients: 21, 20, 20; none dropped from training.
    const part = make({ proportion: 0.0102, unlearningClientIds: [1, 5, 8] });
    const owner = owners(part);
    expect(part.header.forgetCount).toBe(61);
    const perClient = [1, 5, 8].map(
      (k) => [...part.forget.keys()].filter((i) => part.forget[i] && owner[i] === k).length,
    );
    expect(perClient).toEqual([21, 20, 20]);
    expect([...owner].filter((k) => k < 0)).toEqual([]);
    // Class mode: 600 images of class 9 over 7 unlearning clients, none dropped.
    const cls = make({ mode: 'class', unlearningClients: 7 });
    expect([...owners(cls)].filter((k) => k < 0)).toEqual([]);
    expect(cls.header.forgetCount).toBe(labels.filter((l) => l === 9).length);
  });

  it('class mode under Dirichlet: the class lives only at the unlearning clients: the whole class is forgotten', () => {
    const part = make({ mode: 'class', scheme: 'dirichlet', beta: 0.5, unlearningClients: 2 });
    const owner = owners(part);
    const ul = new Set(part.header.unlearningClients);
    for (let i = 0; i < N; i++) if (labels[i] === 9) expect(ul.has(owner[i]), `class-9 sample ${i}`).toBe(true);
    expect(part.header.forgetCount).toBe(labels.filter((l) => l === 9).length);
    // The other classes are still spread over every client.
    expect(new Set([...owner].filter((_, i) => labels[i] === 3)).size).toBeGreaterThan(2);
  });

  it('client mode: the unlearning client holds only its backdoored forget set', () => {
    const part = make({ mode: 'client', proportion: 0.1 });
    const [ul] = part.header.unlearningClients;
    const mine = clientIndices(part, ul);
    expect(mine.length).toBe(600);
    for (const i of mine) expect([part.forget[i], part.triggered[i], part.headA[i]]).toEqual([1, 1, 0]);
  });

  it('Dirichlet: skew grows as beta falls', () => {
    // Mean total-variation distance between each client's label distribution and the global one.
    const skew = (beta: number) => {
      const part = make({ scheme: 'dirichlet', beta, mode: 'none' }, 11);
      owners(part);
      let total = 0;
      for (let k = 0; k < 10; k++) {
        const idx = clientIndices(part, k);
        const hist = new Array(C).fill(0);
        for (const i of idx) hist[labels[i]]++;
        total += hist.reduce((s, h) => s + Math.abs(h / Math.max(1, idx.length) - 1 / C), 0) / 2;
      }
      return total / 10;
    };
    const [s100, s1, s01] = [skew(100), skew(1), skew(0.1)];
    expect(s100).toBeLessThan(s1);
    expect(s1).toBeLessThan(s01);
    expect(s100).toBeLessThan(0.1);
    expect(s01).toBeGreaterThan(0.5);
  });

  it('rejects impossible requests with a message and the param', () => {
    expect(() => make({ unlearningClientIds: [12] })).toThrow(
      /unlearningClientIds contains 12, but there are 10 clients/,
    );
    expect(() => make({ mode: 'class', classId: 10 })).toThrow(/classId 10 is not a class/);
    expect(() => make({ unlearningClients: 11 })).toThrow(/only 10 clients/);
  });
});
