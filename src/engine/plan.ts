import { forcedReason } from './executor.ts';
import type { KeyParts } from './hash.ts';
import type { ResolvedPipeline } from './pipeline.ts';
import { lastPartsByStage } from './run-log.ts';
import type { ArtifactRef, RunServices } from './stage.ts';
import { keyFor } from './stage-key.ts';
import type { ArtifactStore } from './store.ts';
import { explainMiss } from './why.ts';

export interface PlannedStage {
  id: string;
  kind: string;
  /**
   * `cached`: nothing to do. `run`: its key has no valid record. `after-upstream`: an input is not known until an
   * upstream stage runs.
   */
  decision: 'cached' | 'run' | 'after-upstream';
  key?: string;
  /** What the key hashes (when it is known: the stage's inputs are). */
  parts?: KeyParts;
  why: string;
  /** Input artifacts known at planning time (from cached upstream stages). */
  inputs?: Record<string, ArtifactRef | undefined>;
}

/** What `fedau run` would do now, and why, without running anything. */
export async function planExecution(
  pipeline: ResolvedPipeline,
  opts: {
    store: ArtifactStore;
    force?: boolean | string[];
    services?: RunServices;
  },
): Promise<PlannedStage[]> {
  const outputs = new Map<string, Record<string, ArtifactRef>>();
  const plan: PlannedStage[] = [];
  let previous: Map<string, KeyParts> | undefined;
  for (const stage of pipeline.stages) {
    const upstream = [...new Set(Object.values(stage.needs).map((n) => n.stage))].filter((id) => !outputs.has(id));
    const known = Object.fromEntries(
      Object.entries(stage.needs).map(([name, ref]) => [name, outputs.get(ref.stage)?.[ref.output]]),
    );
    const forced = forcedReason(stage, opts.force);
    if (upstream.length) {
      const why =
        explainMiss({ forced, upstream }) + (forced ? '' : ' (stays cached if their outputs come out byte-identical)');
      plan.push({ id: stage.id, kind: stage.kind, decision: forced ? 'run' : 'after-upstream', why, inputs: known });
      continue;
    }
    const { key, parts } = await keyFor(stage, known as Record<string, ArtifactRef>, opts.services);
    const lookup = await opts.store.lookup(key);
    if (lookup.hit && !forced) {
      outputs.set(stage.id, lookup.record.outputs);
      plan.push({
        id: stage.id,
        kind: stage.kind,
        decision: 'cached',
        key,
        parts,
        why: `run record ${key.slice(0, 12)}`,
      });
      continue;
    }
    previous ??= await lastPartsByStage(opts.store, pipeline.name);
    plan.push({
      id: stage.id,
      kind: stage.kind,
      decision: 'run',
      key,
      parts,
      why: explainMiss({ forced, lookup, last: previous.get(stage.id), parts }),
      inputs: known,
    });
  }
  return plan;
}
