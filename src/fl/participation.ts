import { Rng } from '../core/rng.ts';

/**
 * The clients that train in a round (design §4.7): all of them at `fraction` 1; otherwise ⌈fraction·K⌉ drawn by
 * the seeded generator from the round alone, so that every run, machine and method (the retrain included) sees
 * the same participants. In client order.
 */
export function participants(round: number, clients: number, fraction: number, seed: number): number[] {
  const all = Array.from({ length: clients }, (_, k) => k);
  if (fraction >= 1) return all;
  const count = Math.max(1, Math.ceil(fraction * clients));
  return new Rng(seed, `participation/r${round}`).sample(all, count).sort((a, b) => a - b);
}
