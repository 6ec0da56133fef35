import PQueue from 'p-queue';
import type { StageStatus } from './events.ts';
import { type Reporter, type ReporterFailurePolicy, ReporterHub } from './events.ts';
import { Readiness } from './graph.ts';
import { LockDir } from './locks.ts';
import type { ResolvedPipeline } from './pipeline.ts';
import { retractWrongResults } from './retract.ts';
import { lastPartsByStage, newRunId } from './run-log.ts';
import { RunState, type StageResult } from './run-state.ts';
import type { RemoteStages, RunServices } from './stage.ts';
import { type RunContext, runStage } from './stage-run.ts';
import type { ArtifactStore } from './store.ts';

export type { StageResult } from './run-state.ts';
export { forcedReason } from './stage-run.ts';

export interface ExecuteOptions {
  store: ArtifactStore;
  reporters: Reporter[];
  onReporterFailure?: ReporterFailurePolicy;
  /** true re-runs every stage; a list re-runs those stage ids (their dependents only if outputs change). */
  force?: boolean | string[];
  signal?: AbortSignal;
  /** What the run offers its stages (passed to them as is). */
  services?: RunServices;
  /** How the run computes, in a few words for the header and the run log. */
  runtime?: string;
  /** Where stages that may run remotely do run (`fedau run --redis`); others run in this process. */
  remote?: RemoteStages;
  /**
   * Called once the run has started, before any stage: with its id, and a way to tell the reporters about what
   * happens outside the stages (a cluster's workers joining or refusing jobs).
   */
  onStart?: (runId: string, log: (level: 'info' | 'warn', text: string) => void) => Promise<void>;
  workDir?: string;
  concurrency?: number;
  /** For tests: how often a waiting lock is polled. */
  lockPollMs?: number;
}

export interface RunResult {
  runId: string;
  status: 'success' | 'failure' | 'interrupted';
  counts: Record<StageStatus, number>;
  stages: Record<string, StageResult>;
  durationMs: number;
}

/**
 * Runs a resolved pipeline: each stage whose inputs are ready is keyed, looked up in the store, and either
 * reported cached or run under an inter-process lock; its outputs are stored before its run record. A failed
 * stage skips its dependents and the others go on. Early cutoff is implied: a key hashes input digests, so
 * a re-run stage with byte-identical outputs leaves its dependents' keys unchanged.
 */
export async function executePipeline(pipeline: ResolvedPipeline, opts: ExecuteOptions): Promise<RunResult> {
  const { store } = opts;
  await store.init();
  const started = Date.now();
  const hub = new ReporterHub(opts.reporters, { onFailure: opts.onReporterFailure });
  const state = new RunState({ runId: newRunId(), pipeline, store, hub, runtime: opts.runtime });
  const signal = opts.signal ?? new AbortController().signal;
  const nodes = pipeline.stages.map((s) => ({
    id: s.id,
    deps: [...new Set(Object.values(s.needs).map((n) => n.stage))],
  }));
  const locks = new LockDir(store.root);
  const run: RunContext = {
    pipeline,
    store,
    locks,
    state,
    signal,
    services: opts.services ?? {},
    force: opts.force,
    remote: opts.remote,
    workDir: opts.workDir ?? process.cwd(),
    lockPollMs: opts.lockPollMs,
    // Read before this run logs anything, so that each stage is explained against earlier runs only.
    previousParts: await lastPartsByStage(store, pipeline.name),
  };
  // A run lock tells `fedau gc` that blobs may be in flight.
  const runLock = await locks.acquire(`run-${state.runId}`, `fedau run ${pipeline.name}`);
  const kinds = new Map(pipeline.stages.map((s) => [s.id, s.kind]));
  state.emit({
    type: 'run:start',
    runId: state.runId,
    pipeline: pipeline.name,
    file: pipeline.file,
    runtime: opts.runtime,
    stages: nodes.map((n) => ({ id: n.id, kind: kinds.get(n.id)!, needs: n.deps })),
  });
  await state.save();
  await opts.onStart?.(state.runId, (level, text) => state.emit({ type: 'stage:log', level, text }));
  await schedule(run, nodes, opts.concurrency ?? pipeline.concurrency);
  await retractWrongResults({
    findings: (await opts.remote?.audit?.().catch(() => [])) ?? [],
    nodes,
    results: state.results,
    store,
    fail: (id, error) => state.fail(id, error, state.results.get(id)?.key),
  });
  const counts = state.counts();
  const status = signal.aborted ? 'interrupted' : counts.failure > 0 ? 'failure' : 'success';
  const durationMs = Date.now() - started;
  Object.assign(state.log, { status, counts, endedAt: new Date().toISOString() });
  await state.save();
  await runLock.release();
  state.emit({ type: 'run:end', runId: state.runId, status, counts, durationMs });
  await hub.close();
  return { runId: state.runId, status, counts, stages: Object.fromEntries(state.results), durationMs };
}

/** Runs the stages as their inputs become ready, at most `concurrency` at once; skips what can no longer run. */
function schedule(run: RunContext, nodes: { id: string; deps: string[] }[], concurrency: number): Promise<void> {
  const { pipeline, state } = run;
  const queue = new PQueue({ concurrency });
  const byId = new Map(pipeline.stages.map((s) => [s.id, s]));
  const readiness = new Readiness(nodes, new Set(pipeline.stages.filter((s) => s.def.gather).map((s) => s.id)));
  return new Promise<void>((resolve, reject) => {
    // A skipped stage names the stage whose failure started the chain, not its direct input.
    const rootCause = new Map<string, string>();
    /** Stage `id` reached its final status: skip what can no longer run, queue what is now ready. */
    const settled = (id: string) => {
      const { ready, doomed } = readiness.settle(id, state.isOk(id));
      for (const dep of doomed) {
        if (state.results.has(dep)) continue;
        const because = rootCause.get(id) ?? id;
        rootCause.set(dep, because);
        state.skip(dep, run.signal.aborted ? 'interrupted' : 'upstream-failed', because);
        settled(dep);
      }
      for (const next of ready) if (!state.results.has(next)) enqueue(next);
      if (state.results.size === nodes.length) resolve();
    };
    const enqueue = (id: string) => {
      state.emit({ type: 'stage:queued', stageId: id });
      queue
        .add(() => runStage(run, byId.get(id)!))
        .then(() => settled(id))
        .catch(reject);
    };
    for (const id of readiness.initial()) enqueue(id);
    if (nodes.length === 0) resolve();
  });
}
