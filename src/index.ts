import { resolve } from 'node:path';
import { stageRegistry } from '../stages/index.ts';
import { type LoadedPipeline, loadPipelineFile } from './config/load.ts';
import { resolvePipeline } from './config/resolve.ts';
import type { SchemaSet } from './config/schemas.ts';
import type { Reporter, ReporterFailurePolicy } from './engine/events.ts';
import { type ExecuteOptions, executePipeline, type RunResult } from './engine/executor.ts';
import type { ResolvedPipeline } from './engine/pipeline.ts';
import { type PlannedStage, planExecution } from './engine/plan.ts';
import type { RemoteStages, RunServices, StageRegistry } from './engine/stage.ts';
import { ArtifactStore } from './engine/store.ts';
import type { RunnerFactory, TrainingServices } from './fl/services.ts';
import { backendWithAdapter } from './ml/backends/backend-name.ts';

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
  /** Trainer threads on this machine (0: one per core); overrides the pipeline's `threads`. */
  threads?: number;
  /** The old name of `threads`. */
  workers?: number;
  workDir?: string;
  concurrency?: number;
  /** A cluster to hand work to (`fedau run --redis`): stages that may run remotely, and where clients train. */
  cluster?: { remote: RemoteStages; runners: RunnerFactory };
  /** Called once the run has started, before any stage, with a way to tell the reporters things. */
  onStart?: ExecuteOptions['onStart'];
}

/**
 * What a run offers its stages: the backend asked for, the trainer threads, and where clients train when a cluster
 * does. The one place they are made, for `runPipeline` and `planPipeline` (so for `fedau run` and `fedau plan`).
 */
function servicesOf(pipeline: ResolvedPipeline, opts: RunPipelineOptions): TrainingServices {
  const settings = pipeline.settings as { backend?: string; threads?: number };
  return {
    backend: opts.backend ?? settings.backend ?? 'auto',
    threads: opts.threads ?? opts.workers ?? settings.threads ?? 0,
    ...(opts.cluster ? { runners: opts.cluster.runners } : {}),
  };
}

/**
 * How the run computes, for its header and log, resolved before anything runs: a requested backend that cannot
 * load fails the run at once (not after hours of other stages), and the header names the one actually used.
 */
async function runtimeLabel(pipeline: ResolvedPipeline, services: TrainingServices): Promise<string | undefined> {
  const stage = pipeline.stages.find((s) => s.def.runtimeKey);
  const facts = await stage?.def.runtimeKey?.(services as unknown as RunServices);
  return facts?.backend ? `backend ${backendWithAdapter(facts.backend, facts.adapter)}` : undefined;
}

/** Loads, checks and runs a pipeline: the whole of `fedau run` without the terminal. */
export async function runPipeline(source: PipelineSource, opts: RunPipelineOptions = {}): Promise<RunResult> {
  const pipeline = await loadPipeline(source, opts);
  const services = servicesOf(pipeline, opts);
  return executePipeline(pipeline, {
    store: new ArtifactStore(opts.store ?? storeRoot()),
    reporters: opts.reporters ?? [],
    onReporterFailure: opts.onReporterFailure,
    force: opts.force,
    signal: opts.signal,
    services: services as unknown as RunServices,
    runtime: await runtimeLabel(pipeline, services),
    remote: opts.cluster?.remote,
    onStart: opts.onStart,
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
    services: servicesOf(pipeline, opts) as unknown as RunServices,
  });
}
