import { rm } from 'node:fs/promises';
import { BugError, DataError, FedauError, InterruptedError, StageError } from '../core/errors.ts';
import { computeHere } from './artifact-io.ts';
import type { KeyParts } from './hash.ts';
import { describeOwner, type Lock, type LockDir } from './locks.ts';
import type { ResolvedPipeline, ResolvedStage } from './pipeline.ts';
import type { RunState } from './run-state.ts';
import type { ArtifactRef, PublishContext, RemoteStages, RunServices, StageContext, StageDefinition } from './stage.ts';
import { makeStageContext } from './stage-context.ts';
import { keyFor } from './stage-key.ts';
import type { ArtifactStore, Lookup } from './store.ts';
import { explainMiss } from './why.ts';

/** What every stage of a run shares: where things are, what was asked, and how to tell the world. */
export interface RunContext {
  pipeline: ResolvedPipeline;
  store: ArtifactStore;
  locks: LockDir;
  state: RunState;
  signal: AbortSignal;
  services: RunServices;
  force?: boolean | string[];
  remote?: RemoteStages;
  workDir: string;
  lockPollMs?: number;
  /** The key parts each stage id had at its last run, to say why it runs now. */
  previousParts: Map<string, KeyParts>;
}

/** One stage of a run, keyed and looked up, else run under its key's lock and committed. */
interface Keyed {
  stage: ResolvedStage;
  inputs: Record<string, ArtifactRef>;
  gathered?: { variants: NonNullable<StageContext['variants']>; failed: string[] };
  key: string;
  parts: KeyParts;
  forced?: 'force' | 'no-cache' | 'volatile';
  publish: PublishContext;
}

/** A stage's whole life in a run: key → lookup → lock → (lookup again) → run → commit. */
export async function runStage(run: RunContext, stage: ResolvedStage): Promise<void> {
  const { state } = run;
  if (run.signal.aborted) return state.skip(stage.id, 'interrupted');
  const missing = missingOptionalOutput(run, stage);
  if (missing) return state.fail(stage.id, wrapStageError(stage, missing), undefined, {});
  const keyed = await keyStage(run, stage);
  if (!keyed) return;
  try {
    if ((await lookup(run, keyed)) === 'hit') return;
  } catch (error) {
    // A cache hit whose outputs cannot be published (a report folder fedau may not replace) fails the stage.
    return state.fail(stage.id, wrapStageError(stage, error), keyed.key, { parts: keyed.parts });
  }
  const lock = await lockStage(run, keyed);
  if (!lock) return state.skip(stage.id, 'interrupted');
  const t0 = Date.now();
  try {
    // Another process may have finished this key while we waited for its lock.
    const found = await lookup(run, keyed);
    if (found === 'hit') return;
    await compute(run, keyed, found, t0);
  } catch (error) {
    if (run.signal.aborted) return state.skip(stage.id, 'interrupted', undefined, { key: keyed.key });
    state.fail(stage.id, wrapStageError(stage, error), keyed.key, { parts: keyed.parts, durationMs: Date.now() - t0 });
  } finally {
    await lock.release();
  }
}

/** A needed input that its stage did not make (an optional output its params did not ask for), as a user error. */
function missingOptionalOutput(run: RunContext, stage: ResolvedStage): DataError | undefined {
  if (stage.def.gather) return undefined;
  for (const [name, ref] of Object.entries(stage.needs)) {
    const producer = run.state.results.get(ref.stage);
    if (!run.state.isOk(ref.stage) || producer?.outputs?.[ref.output]) continue;
    if (stage.def.optionalInputs?.includes(name)) continue;
    const from = run.pipeline.stages.find((st) => st.id === ref.stage);
    const hint = (from?.def.optionalOutputs as Record<string, string> | undefined)?.[ref.output];
    return new DataError(`stage "${ref.stage}" made no ${ref.output}: its params did not ask for it`, {
      path: `stages.${stage.id}.needs.${name}`,
      expected: `${ref.stage}.${ref.output}`,
      got: 'nothing',
      hint: hint ?? `make stage "${ref.stage}" produce ${ref.output}`,
    });
  }
  return undefined;
}

/** The stage's inputs and key; undefined when a gathering stage has no variant left to gather (it is skipped). */
async function keyStage(run: RunContext, stage: ResolvedStage): Promise<Keyed | undefined> {
  const { state } = run;
  const inputs: Record<string, ArtifactRef> = {};
  // A gathering stage reads what its succeeded inputs produced; any other stage only runs when all succeeded.
  for (const [name, ref] of Object.entries(stage.needs)) {
    if (state.isOk(ref.stage)) inputs[name] = state.results.get(ref.stage)!.outputs![ref.output];
  }
  const gathered = stage.def.gather ? gatherVariants(stage, inputs) : undefined;
  if (gathered && gathered.variants.length === 0) {
    const failed = new Set(
      Object.values(stage.needs)
        .filter((r) => !state.isOk(r.stage))
        .map((r) => r.stage),
    );
    state.skip(stage.id, 'upstream-failed', [...failed].join(', '));
    return undefined;
  }
  const { key, parts } = await keyFor(stage, inputs, run.services);
  const publish: PublishContext = {
    stageId: stage.id,
    kind: stage.kind,
    params: stage.params,
    pipeline: { name: run.pipeline.name, file: run.pipeline.file },
    workDir: run.workDir,
    readArtifact: (ref: ArtifactRef) => run.store.getBytes(ref),
    log: (level, text) => state.emit({ type: 'stage:log', stageId: stage.id, level, text }),
  };
  return { stage, inputs, gathered, key, parts, forced: forcedReason(stage, run.force), publish };
}

/** Serves the stage from the cache when it can; otherwise returns the miss (undefined when forced). */
async function lookup(run: RunContext, k: Keyed): Promise<'hit' | Lookup | undefined> {
  if (k.forced) return undefined;
  const found = await run.store.lookup(k.key);
  if (!found.hit) {
    if (found.warning) run.state.emit({ type: 'stage:log', stageId: k.stage.id, level: 'warn', text: found.warning });
    return found;
  }
  await k.stage.def.publish?.(k.publish, found.record.outputs);
  run.state.finish(k.stage.id, { status: 'cached', key: k.key, outputs: found.record.outputs }, { parts: k.parts });
  run.state.emit({ type: 'stage:cached', stageId: k.stage.id, key: k.key, outputs: found.record.outputs });
  return 'hit';
}

/** The key's lock: one process computes a key at a time; undefined when the run is interrupted while waiting. */
async function lockStage(run: RunContext, k: Keyed): Promise<Lock | undefined> {
  const say = (level: 'info' | 'warn', text: string) =>
    run.state.emit({ type: 'stage:log', stageId: k.stage.id, level, text });
  return run.locks
    .acquire(k.key, `stage ${k.stage.id} of ${run.pipeline.name}`, {
      signal: run.signal,
      pollMs: run.lockPollMs,
      onWait: (owner) => say('info', `waiting: process ${owner.pid} is running this stage with the same key`),
      onTakeover: (owner, why) => say('warn', `took over the lock of ${describeOwner(owner)}: ${why}`),
    })
    .catch((error) => {
      if (error instanceof InterruptedError) return undefined;
      throw error;
    });
}

/** Runs the stage (here, or remotely when it may), then commits: blobs first, the record last, then publishes. */
async function compute(run: RunContext, k: Keyed, found: Lookup | undefined, t0: number): Promise<void> {
  const { stage, key, parts } = k;
  const reason = explainMiss({ forced: k.forced, last: run.previousParts.get(stage.id), parts, lookup: found });
  // `--force` asks for a recomputation: a checkpoint of this key (a finished or interrupted earlier run) would
  // otherwise be resumed, and a finished one would skip the work entirely.
  if (k.forced === 'force') await rm(run.store.checkpointDir(key), { recursive: true, force: true });
  run.state.emit({ type: 'stage:start', stageId: stage.id, key, reason });
  run.state.running(stage.id, { key, parts });
  let provenance: object | undefined;
  const ctx = makeStageContext({
    stage,
    runId: run.state.runId,
    key,
    keyParts: parts,
    inputs: k.inputs,
    ...(k.gathered ? { variants: k.gathered.variants, failedVariants: k.gathered.failed } : {}),
    store: run.store,
    signal: run.signal,
    pipeline: k.publish.pipeline,
    services: run.services,
    workDir: run.workDir,
    progress: (p) => run.state.emit({ type: 'stage:progress', stageId: stage.id, ...p }),
    log: k.publish.log,
    setProvenance: (record) => {
      provenance = record;
    },
  });
  const runHere = () => computeHere(run.store, stage.def, ctx);
  const remote = run.remote?.accepts(stage.def) ? run.remote : undefined;
  const outputs = checkOutputs(stage.def, await (remote ? remote.run(stage, ctx, runHere) : runHere()));
  const durationMs = Date.now() - t0;
  // The record is the commit point: it is written only after every blob it names is on disk.
  await run.store.writeRecord({
    format: 1,
    key,
    parts,
    outputs,
    producedBy: { stageId: stage.id, pipeline: run.pipeline.name },
    createdAt: new Date().toISOString(),
    durationMs,
    ...(provenance ? { provenance } : {}),
  });
  await stage.def.publish?.(k.publish, outputs);
  run.state.finish(stage.id, { status: 'success', key, outputs }, { parts, durationMs, provenance });
  run.state.emit({ type: 'stage:end', stageId: stage.id, status: 'success', durationMs, outputs });
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
    if (!ref && def.optionalOutputs && name in def.optionalOutputs) continue;
    if (!ref || ref.kind !== kind || typeof ref.digest !== 'string') {
      throw new BugError(`stage kind "${def.kind}" returned no ${kind} artifact for its output "${name}"`, {
        expected: String(kind),
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
