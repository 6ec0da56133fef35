import { describe, expect, it } from 'vitest';
import { participants } from '../../src/fl/participation.ts';

describe('partial participation', () => {
  it('draws ⌈C·K⌉ clients per round, in client order, from the seed and the round alone', () => {
    expect(participants(3, 10, 1, 0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const r0 = participants(0, 10, 0.3, 7);
    expect(r0).toHaveLength(3);
    expect([...r0].sort((a, b) => a - b)).toEqual(r0);
    expect(participants(0, 10, 0.3, 7)).toEqual(r0);
    expect(participants(0, 4, 0.01, 7)).toHaveLength(1);
    // Other rounds and seeds draw other clients (over a few rounds, not always the same three).
    const draws = new Set(Array.from({ length: 6 }, (_, r) => participants(r, 10, 0.3, 7).join()));
    expect(draws.size).toBeGreaterThan(1);
  });
});
