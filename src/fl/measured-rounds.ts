import { canonicalJson } from '../core/hash.ts';
import type { RunLog } from '../engine/run-log.ts';

export interface MeasuredRound {
  seconds: number;
  runId: string;
}

/**
 * The wall time per round of the latest finished training in this store with the same recipe (the number of rounds
 * aside) on the same backend and GPU adapter: a better estimate on this machine than throughput measured on another.
 * Read from the run logs: the history's `seconds` covers every round, resumed ones included.
 */
export function measuredRoundSeconds(
  logs: readonly RunLog[],
  stage: { kind: string; params: Record<string, unknown> },
  runtime: Record<string, string | number>,
): MeasuredRound | undefined {
  const recipe = withoutRounds(stage.params);
  for (const log of [...logs].reverse()) {
    for (const entry of Object.values(log.stages)) {
      if (entry.kind !== stage.kind || entry.status !== 'success' || !entry.parts) continue;
      const ran = entry.parts.runtime;
      if (ran?.backend !== runtime.backend || ran?.adapter !== runtime.adapter) continue;
      const params = entry.parts.params;
      const rounds = Number(params.rounds);
      const seconds = Number(entry.outputs?.history?.meta?.seconds);
      if (!(rounds > 0) || !(seconds > 0) || withoutRounds(params) !== recipe) continue;
      return { seconds: seconds / rounds, runId: log.runId };
    }
  }
  return undefined;
}

function withoutRounds(params: Record<string, unknown>): string {
  const { rounds: _, ...recipe } = params;
  return canonicalJson(recipe);
}
