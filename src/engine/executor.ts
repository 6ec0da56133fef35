import { rm } from 'node:fs/promises';
import PQueue from 'p-queue';
import { BugError, FedauError, InterruptedError, StageError, serializeError } from '../core/errors.ts';
import { backendWithAdapter } from './backend-name.ts';
import { emptyCounts, type Reporter, type ReporterFailurePolicy, ReporterHub, type StageStatus } from './events.ts';
import { Readiness } from './graph.ts';
import { describeOwner, LockDir } from './locks.ts';
import type { ResolvedPipeline, ResolvedStage } from './pipeline.ts';
import { lastPartsByStage, newRunId, type RunLog, writeRunLog } from './run-log.ts';
import type { ArtifactRef, RemoteStages, RuntimeOptions, StageContext, StageDefinition } from './stage.ts';
import { makeStageContext } from './stage-context.ts';
import { keyFor, type RuntimeFacts } from './stage-key.ts';
import type { ArtifactStore, Lookup } from './store.ts';
import { explainMiss } from './why.ts';

export interface ExecuteOptions {
  store: ArtifactStore;
  reporters: Reporter[];
  onReporterFailure?: ReporterFailurePolicy;
  /** true re-runs every stage; a list re-runs those stage ids (their dependents only if outputs change). */
  force?: boolean | string[];
  signal?: AbortSignal;
  runtime?: Partial<RuntimeOptions>;
  /** Where stages that may run remotely do run (`fedau run --redis`); others run in this process. */
  remote?: RemoteStages;
  /**
   * Called once the run has started, before any stage: with its id, and a way to tell the reporters about what
   * happens outside the stages (a cluster's workers joining or refusing jobs).
   */
  onStart?: (runId: string, log: (level: 'info' | 'warn', text: string) => void) => Promise<void>;
  /** Facts that change a tfjs stage's results (tfjs version, resolved backend); asked once per such stage. */
  runtimeFacts?: RuntimeFacts;
  workDir?: string;
  concurrency?: number;
  /** For tests: how often a waiting lock is polled. */
  lockPollMs?: number;
}

export interface StageResult {
  status: StageStatus;
  key?: string;
  outputs?: Record<string, ArtifactRef>;
  error?: ReturnType<typeof serializeError>;
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
  const runId = newRunId();
  const hub = new ReporterHub(opts.reporters, { onFailure: opts.onReporterFailure });
  const locks = new LockDir(store.root);
  const runtime: RuntimeOptions = {
    backend: opts.runtime?.backend ?? pipeline.backend,
    workers: opts.runtime?.workers ?? pipeline.workers,
    cluster: opts.runtime?.cluster,
  };
  const signal = opts.signal ?? new AbortController().signal;
  const nodes = pipeline.stages.map((s) => ({
    id: s.id,
    deps: [...new Set(Object.values(s.needs).map((n) => n.stage))],
  }));
  const results = new Map<string, StageResult>();
  const log: RunLog = {
    runId,
    pipeline: pipeline.name,
    file: pipeline.file,
    pid: process.pid,
    startedAt: new Date(started).toISOString(),
    status: 'running',
    backend: runtime.backend,
    stages: Object.fromEntries(pipeline.stages.map((s) => [s.id, { kind: s.kind, status: 'pending' as const }])),
  };
  let logWrites = Promise.resolve();
  const saveLog = () => (logWrites = logWrites.then(() => writeRunLog(store, log)).catch(() => undefined));

  // The backend is resolved before anything runs, so a requested backend that cannot load fails the run at
  // once (not after hours of other stages), and the UI shows the one actually used.
  const tfjsStage = pipeline.stages.find((s) => s.def.usesTfjs);
  const facts = tfjsStage ? await opts.runtimeFacts?.(tfjsStage.def) : undefined;
  if (facts?.backend) log.backend = backendWithAdapter(facts.backend, facts.adapter);
  // Read before this run logs anything, so that each stage is explained against earlier runs only.
  const previousParts = await lastPartsByStage(store, pipeline.name);
  // A run lock tells `fedau gc` that blobs may be in flight.
  const runLock = await locks.acquire(`run-${runId}`, `fedau run ${pipeline.name}`);
  hub.emit({
    type: 'run:start',
    runId,
    pipeline: pipeline.name,
    file: pipeline.file,
    backend: log.backend,
    stages: nodes.map((n) => ({ id: n.id, kind: pipeline.stages.find((s) => s.id === n.id)!.kind, needs: n.deps })),
  });
  await saveLog();
  await opts.onStart?.(runId, (level, text) => hub.emit({ type: 'stage:log', level, text }));

  const finish = (id: string, result: StageResult, extra: Partial<RunLog['stages'][string]> = {}) => {
    results.set(id, result);
    log.stages[id] = {
      ...log.stages[id],
      ...extra,
      status: result.status,
      key: result.key,
      outputs: result.outputs,
      error: result.error,
    };
    void saveLog();
  };

  const skipInterrupted = (
    id: string,
    result: Partial<StageResult> = {},
    extra: Partial<RunLog['stages'][string]> = {},
  ) => {
    finish(id, { ...result, status: 'skipped' }, extra);
    hub.emit({ type: 'stage:skipped', stageId: id, reason: 'interrupted' });
  };

  const isOk = (id: string) => ['success', 'cached'].includes(results.get(id)?.status ?? '');

  const runStage = async (stage: ResolvedStage): Promise<void> => {
    if (signal.aborted) return skipInterrupted(stage.id);
    const inputs: Record<string, ArtifactRef> = {};
    // A gathering stage reads what its succeeded inputs produced; any other stage only runs when all succeeded.
    for (const [name, ref] of Object.entries(stage.needs)) {
      if (isOk(ref.stage)) inputs[name] = results.get(ref.stage)!.outputs![ref.output];
    }
    const gathered = stage.def.gather ? gatherVariants(stage, inputs) : undefined;
    if (gathered && gathered.variants.length === 0) {
      finish(stage.id, { status: 'skipped' });
      hub.emit({
        type: 'stage:skipped',
        stageId: stage.id,
        reason: 'upstream-failed',
        because: [
          ...new Set(
            Object.values(stage.needs)
              .filter((r) => !isOk(r.stage))
              .map((r) => r.stage),
          ),
        ].join(', '),
      });
      return;
    }
    const { key, parts } = await keyFor(stage, inputs, opts.runtimeFacts);
    const forced = forcedReason(stage, opts.force);
    const publishCtx = {
      stageId: stage.id,
      kind: stage.kind,
      params: stage.params,
      pipeline: { name: pipeline.name, file: pipeline.file },
      workDir: opts.workDir ?? process.cwd(),
      readArtifact: (ref: ArtifactRef) => store.getBytes(ref),
      log: (level: 'debug' | 'info' | 'warn', text: string) =>
        hub.emit({ type: 'stage:log', stageId: stage.id, level, text }),
    };

    /** Serves the stage from the cache when it can; otherwise returns the miss (undefined when forced). */
    const tryCache = async (): Promise<'hit' | Lookup | undefined> => {
      if (forced) return undefined;
      const lookup = await store.lookup(key);
      if (!lookup.hit) {
        if (lookup.warning) hub.emit({ type: 'stage:log', stageId: stage.id, level: 'warn', text: lookup.warning });
        return lookup;
      }
      await stage.def.publish?.(publishCtx, lookup.record.outputs);
      finish(stage.id, { status: 'cached', key, outputs: lookup.record.outputs }, { parts });
      hub.emit({ type: 'stage:cached', stageId: stage.id, key, outputs: lookup.record.outputs });
      return 'hit';
    };

    const failed = (error: unknown, t0: number) => {
      const wrapped = serializeError(wrapStageError(stage, error));
      finish(stage.id, { status: 'failure', key, error: wrapped }, { parts, durationMs: Date.now() - t0 });
      hub.emit({
        type: 'stage:end',
        stageId: stage.id,
        status: 'failure',
        durationMs: Date.now() - t0,
        error: wrapped,
      });
    };
    try {
      if ((await tryCache()) === 'hit') return;
    } catch (error) {
      // A cache hit whose outputs cannot be published (a report folder fedau may not replace) fails the stage.
      return failed(error, Date.now());
    }
    const lock = await locks
      .acquire(key, `stage ${stage.id} of ${pipeline.name}`, {
        signal,
        pollMs: opts.lockPollMs,
        onWait: (owner) =>
          hub.emit({
            type: 'stage:log',
            stageId: stage.id,
            level: 'info',
            text: `waiting: process ${owner.pid} is running this stage with the same key`,
          }),
        onTakeover: (owner, why) =>
          hub.emit({
            type: 'stage:log',
            stageId: stage.id,
            level: 'warn',
            text: `took over the lock of ${describeOwner(owner)}: ${why}`,
          }),
      })
      .catch((error) => {
        if (error instanceof InterruptedError) return undefined;
        throw error;
      });
    if (!lock) return skipInterrupted(stage.id);
    const t0 = Date.now();
    try {
      // Another process may have finished this key while we waited for its lock.
      const lookup = await tryCache();
      if (lookup === 'hit') return;
      const reason = explainMiss({ forced, last: previousParts.get(stage.id), parts, lookup });
      // `--force` asks for a recomputation: a checkpoint of this key (a finished or interrupted earlier run) would
      // otherwise be resumed, and a finished one would skip the work entirely.
      if (forced === 'force') await rm(store.checkpointDir(key), { recursive: true, force: true });
      hub.emit({ type: 'stage:start', stageId: stage.id, key, reason });
      log.stages[stage.id] = { ...log.stages[stage.id], status: 'running', key, parts };
      void saveLog();
      let provenance: object | undefined;
      const ctx = makeStageContext({
        stage,
        runId,
        key,
        keyParts: parts,
        inputs,
        ...(gathered ? { variants: gathered.variants, failedVariants: gathered.failed } : {}),
        store,
        signal,
        pipeline: publishCtx.pipeline,
        runtime: { ...runtime, resolvedBackend: parts.runtime?.backend as string | undefined },
        workDir: publishCtx.workDir,
        progress: (p) => hub.emit({ type: 'stage:progress', stageId: stage.id, ...p }),
        log: publishCtx.log,
        setProvenance: (record) => {
          provenance = record;
        },
      });
      const remote = opts.remote?.accepts(stage.def) ? opts.remote : undefined;
      const outputs = checkOutputs(stage.def, await (remote ? remote.run(stage, ctx) : stage.def.run(ctx)));
      // The record is the commit point: it is written only after every blob it names is on disk.
      await store.writeRecord({
        format: 1,
        key,
        parts,
        outputs,
        producedBy: { stageId: stage.id, pipeline: pipeline.name },
        createdAt: new Date().toISOString(),
        durationMs: Date.now() - t0,
        ...(provenance ? { provenance } : {}),
      });
      await stage.def.publish?.(publishCtx, outputs);
      finish(stage.id, { status: 'success', key, outputs }, { parts, durationMs: Date.now() - t0, provenance });
      hub.emit({ type: 'stage:end', stageId: stage.id, status: 'success', durationMs: Date.now() - t0, outputs });
    } catch (error) {
      if (signal.aborted) return skipInterrupted(stage.id, { key }, { parts });
      failed(error, t0);
    } finally {
      await lock.release();
    }
  };

  const queue = new PQueue({ concurrency: opts.concurrency ?? pipeline.concurrency });
  const byId = new Map(pipeline.stages.map((s) => [s.id, s]));
  const readiness = new Readiness(nodes, new Set(pipeline.stages.filter((s) => s.def.gather).map((s) => s.id)));
  await new Promise<void>((resolve, reject) => {
    // A skipped stage names the stage whose failure started the chain, not its direct input.
    const rootCause = new Map<string, string>();
    /** Stage `id` reached its final status: skip what can no longer run, queue what is now ready. */
    const settled = (id: string) => {
      const { ready, doomed } = readiness.settle(id, isOk(id));
      for (const dep of doomed) {
        if (results.has(dep)) continue;
        const reason = signal.aborted ? 'interrupted' : 'upstream-failed';
        const because = rootCause.get(id) ?? id;
        rootCause.set(dep, because);
        hub.emit({ type: 'stage:skipped', stageId: dep, reason, because });
        finish(dep, { status: 'skipped' });
        settled(dep);
      }
      for (const next of ready) if (!results.has(next)) enqueue(next);
      if (results.size === nodes.length) resolve();
    };
    const enqueue = (id: string) => {
      hub.emit({ type: 'stage:queued', stageId: id });
      queue
        .add(() => runStage(byId.get(id)!))
        .then(() => settled(id))
        .catch(reject);
    };
    for (const id of readiness.initial()) enqueue(id);
    if (nodes.length === 0) resolve();
  });

  await retractWrongResults({
    findings: (await opts.remote?.audit?.().catch(() => [])) ?? [],
    nodes,
    results,
    store,
    fail: (id, error) => {
      finish(id, { ...results.get(id), status: 'failure', error: serializeError(error) });
      hub.emit({ type: 'stage:log', stageId: id, level: 'warn', text: error.message });
    },
  });
  const counts = emptyCounts();
  for (const r of results.values()) counts[r.status]++;
  const status = signal.aborted ? 'interrupted' : counts.failure > 0 ? 'failure' : 'success';
  const durationMs = Date.now() - started;
  log.status = status;
  log.counts = counts;
  log.endedAt = new Date().toISOString();
  await saveLog();
  await runLock.release();
  hub.emit({ type: 'run:end', runId, status, counts, durationMs });
  await hub.close();
  return { runId, status, counts, stages: Object.fromEntries(results), durationMs };
}

/**
 * Remote results found wrong after they were accepted (their worker was caught answering wrong later): each such
 * stage, and every stage computed from it in this run, leaves the cache and fails the run, saying so. Stages after
 * it were keyed by the wrong digest, so a rerun computes them again.
 */
async function retractWrongResults(x: {
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

/**
 * The variants a gathering stage reads: its inputs grouped by the `@<variant id>` of their names (a pipeline
 * without a matrix is one variant, with id ''), and the variants that lack an input because it failed upstream.
 */
function gatherVariants(stage: ResolvedStage, inputs: Record<string, ArtifactRef>) {
  const variants = stage.variants ?? [{ id: '', values: {} }];
  const complete: NonNullable<StageContext['variants']> = [];
  const failed: string[] = [];
  for (const v of variants) {
    const suffix = stage.variants ? `@${v.id}` : '';
    const mine: Record<string, ArtifactRef> = {};
    let missing = false;
    for (const name of Object.keys(stage.needs)) {
      if (!name.endsWith(suffix) || (suffix === '' && name.includes('@'))) continue;
      const input = name.slice(0, name.length - suffix.length);
      if (inputs[name]) mine[input] = inputs[name];
      else missing = true;
    }
    if (missing) failed.push(v.id);
    else complete.push({ ...v, inputs: mine });
  }
  return { variants: complete, failed };
}

/** Why a stage runs regardless of its cache entry, if it does. */
export function forcedReason(
  stage: ResolvedStage,
  force: boolean | string[] | undefined,
): 'force' | 'no-cache' | 'volatile' | undefined {
  if (force === true || (Array.isArray(force) && force.includes(stage.id))) return 'force';
  if (!stage.cache) return 'no-cache';
  if (stage.def.volatile?.(stage.params)) return 'volatile';
  return undefined;
}

function checkOutputs(def: StageDefinition, outputs: Record<string, ArtifactRef>): Record<string, ArtifactRef> {
  for (const [name, kind] of Object.entries(def.outputs)) {
    const ref = outputs?.[name];
    if (!ref || ref.kind !== kind || typeof ref.digest !== 'string') {
      throw new BugError(`stage kind "${def.kind}" returned no ${kind} artifact for its output "${name}"`, {
        expected: kind,
        got: ref ? ref.kind : 'nothing',
      });
    }
  }
  const extra = Object.keys(outputs).filter((k) => !(k in def.outputs));
  if (extra.length) throw new BugError(`stage kind "${def.kind}" returned undeclared outputs: ${extra.join(', ')}`);
  return outputs;
}

function wrapStageError(stage: ResolvedStage, error: unknown): FedauError {
  if (error instanceof FedauError) {
    // Say where it happened without losing the original class, code and stack.
    Object.assign(error.info, {
      stageId: error.info.stageId ?? stage.id,
      stageKind: error.info.stageKind ?? stage.kind,
    });
    return error;
  }
  const e = error instanceof Error ? error : new Error(String(error));
  const wrapped = new StageError('FEDAU_STAGE_FAILED', e.message, {
    stageId: stage.id,
    stageKind: stage.kind,
    cause: e.cause,
    hint: 'run with --verbose for the stack trace',
  });
  wrapped.stack = e.stack;
  return wrapped;
}
