import type { Strategy } from '../strategy.ts';

/**
 * Strategies run one after another in one training (PGA's ascent round, then its FedAvg rounds): round r goes to
 * the phase it falls in, numbered from that phase's start. Checkpoints and progress see one training.
 */
export function sequence(phases: { strategy: Strategy; rounds: number }[]): { strategy: Strategy; rounds: number } {
  const at = (round: number) => {
    let start = 0;
    for (const p of phases) {
      if (round < start + p.rounds) return { s: p.strategy, r: round - start };
      start += p.rounds;
    }
    throw new Error(`round ${round} is past the last phase`);
  };
  const strategy: Strategy = {
    lr: (round) => at(round).s.lr(at(round).r),
    jobs: (round, state) => at(round).s.jobs(at(round).r, { ...state, round: at(round).r }),
    aggregate: (state, results) => at(state.round).s.aggregate({ ...state, round: at(state.round).r }, results),
    note: (round) => at(round).s.note?.(at(round).r) ?? {},
    weightOf: (client) => phases[0].strategy.weightOf(client),
  };
  return { strategy, rounds: phases.reduce((n, p) => n + p.rounds, 0) };
}
