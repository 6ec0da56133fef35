import { resolve } from 'node:path';
import { stageRegistry } from '../stages/index.ts';
import { type LoadedPipeline, loadPipelineFile } from './config/load.ts';
import { resolvePipeline } from './config/resolve.ts';
import type { SchemaSet } from './config/schemas.ts';
import type { Reporter, ReporterFailurePolicy } from './engine/events.ts';
import { type ExecuteOptions, executePipeline, type RunResult } from './engine/executor.ts';
import type { ResolvedPipeline } from './engine/pipeline.ts';
import { type PlannedStage, planExecution } from './engine/plan.ts';
import type { RemoteStages, StageRegistry } from './engine/stage.ts';
import { ArtifactStore } from './engine/store.ts';
import { runtimeFactsFor } from './runtime-facts.ts';

export type { Reporter, ReporterFailurePolicy, RunEvent } from './engine/events.ts';
export type { RunResult } from './engine/executor.ts';
export type { PlannedStage } from './engine/plan.ts';

/** `--store`, then `$FEDAU_STORE`, then `artifacts/` in the working directory. */
export function storeRoot(flag?: string, env = process.env, cwd = process.cwd()): string {
  return resolve(cwd, flag ?? env.FEDAU_STORE ?? 'artifacts');
}

export interface LoadOptions {
  sets?: string[];
  /** `--matrix key=v1,v2` expressions, added to the pipeline's `matrix:`. */
  matrix?: string[];
  registry?: StageRegistry;
  /** Schemas for the registry's kinds (default: the shipped `schemas/`). */
  schemas?: SchemaSet;
}

/** A pipeline file, a parsed one, or one already checked and resolved. */
export type PipelineSource = string | LoadedPipeline | ResolvedPipeline;

const isResolved = (source: PipelineSource): source is ResolvedPipeline =>
  typeof source === 'object' && Array.isArray((source as ResolvedPipeline).stages);

export async function loadPipeline(source: PipelineSource, opts: LoadOptions = {}): Promise<ResolvedPipeline> {
  if (isResolved(source)) return source;
  const loaded = typeof source === 'string' ? await loadPipelineFile(source) : source;
  return resolvePipeline(loaded, {
    registry: opts.registry ?? stageRegistry,
    sets: opts.sets,
    matrix: opts.matrix,
    schemas: opts.schemas,
  });
}

export interface PlanPipelineOptions extends LoadOptions {
  store?: string;
  force?: boolean | string[];
  /** `auto`, `tensorflow`, `webgpu`, `wasm` or `cpu`; overrides the pipeline's `backend`. */
  backend?: string;
}

export interface RunPipelineOptions extends PlanPipelineOptions {
  reporters?: Reporter[];
  /** What to do when a reporter throws (the CLI: say so on stderr and carry on with the plain reporter). */
  onReporterFailure?: ReporterFailurePolicy;
  signal?: AbortSignal;
  workers?: number;
  workDir?: string;
  concurrency?: number;
  /** A cluster to hand work to (`fedau run --redis`): stages that may run remotely, and training clients. */
  cluster?: { remote: RemoteStages; handle: unknown };
  /** Called once the run has started, before any stage, with a way to tell the reporters things. */
  onStart?: ExecuteOptions['onStart'];
}

/**
 * The facts that enter every tfjs stage's key: the tfjs version and the backend `backend` resolves to here. The
 * one place keys get them, for `runPipeline`, `planPipeline` and so for `fedau run` and `fedau plan` alike.
 */
function keyFacts(pipeline: ResolvedPipeline, backend: string | undefined) {
  return runtimeFactsFor(backend ?? pipeline.backend);
}

/** Loads, checks and runs a pipeline: the whole of `fedau run` without the terminal. */
export async function runPipeline(source: PipelineSource, opts: RunPipelineOptions = {}): Promise<RunResult> {
  const pipeline = await loadPipeline(source, opts);
  return executePipeline(pipeline, {
    store: new ArtifactStore(opts.store ?? storeRoot()),
    reporters: opts.reporters ?? [],
    onReporterFailure: opts.onReporterFailure,
    force: opts.force,
    signal: opts.signal,
    runtime: {
      backend: opts.backend ?? pipeline.backend,
      workers: opts.workers ?? pipeline.workers,
      cluster: opts.cluster?.handle,
    },
    remote: opts.cluster?.remote,
    onStart: opts.onStart,
    runtimeFacts: keyFacts(pipeline, opts.backend),
    workDir: opts.workDir,
    concurrency: opts.concurrency,
  });
}

/** What `runPipeline` would do now, stage by stage, and why: `fedau plan` without the terminal. */
export async function planPipeline(source: PipelineSource, opts: PlanPipelineOptions = {}): Promise<PlannedStage[]> {
  const pipeline = await loadPipeline(source, opts);
  return planExecution(pipeline, {
    store: new ArtifactStore(opts.store ?? storeRoot()),
    force: opts.force,
    runtimeFacts: keyFacts(pipeline, opts.backend),
  });
}
