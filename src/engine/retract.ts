import { type FedauError, StageError } from '../core/errors.ts';
import type { StageResult } from './run-state.ts';
import type { ArtifactStore } from './store.ts';

/**
 * Remote results found wrong after they were accepted (their worker was caught answering wrong later): each such
 * stage, and every stage computed from it in this run, leaves the cache and fails the run, saying so. Stages after
 * it were keyed by the wrong digest, so a rerun computes them again.
 */
export async function retractWrongResults(x: {
  findings: { stageId: string; worker: string; reason: string }[];
  nodes: { id: string; deps: string[] }[];
  results: Map<string, StageResult>;
  store: ArtifactStore;
  fail(id: string, error: FedauError): void;
}): Promise<void> {
  for (const f of x.findings) {
    const tainted = new Set([f.stageId]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const n of x.nodes) {
        if (!tainted.has(n.id) && n.deps.some((d) => tainted.has(d))) grew = tainted.add(n.id) !== undefined;
      }
    }
    for (const id of tainted) {
      const r = x.results.get(id);
      if (!r || (r.status !== 'success' && r.status !== 'cached')) continue;
      if (r.key) await x.store.deleteRecord(r.key);
      const message =
        id === f.stageId
          ? `stage ${id}: the result of worker ${f.worker} differs from this process's computation (the worker was ` +
            `banned: ${f.reason}); it and the stages computed from it were removed from the cache`
          : `stage ${id} was computed from stage ${f.stageId}'s wrong result and was removed from the cache`;
      x.fail(id, new StageError('FEDAU_STAGE_FAILED', message, { stageId: id, hint: 'run the pipeline again' }));
    }
  }
}
