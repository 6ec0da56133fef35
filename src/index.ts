import { resolve } from 'node:path';
import { stageRegistry } from '../stages/index.ts';
import { type LoadedPipeline, loadPipelineFile } from './config/load.ts';
import { resolvePipeline } from './config/resolve.ts';
import type { SchemaSet } from './config/schemas.ts';
import type { Reporter } from './engine/events.ts';
import { executePipeline, type RunResult } from './engine/executor.ts';
import type { ResolvedPipeline } from './engine/pipeline.ts';
import type { StageDefinition, StageRegistry } from './engine/stage.ts';
import { ArtifactStore } from './engine/store.ts';

export type { Reporter, RunEvent } from './engine/events.ts';
export type { RunResult } from './engine/executor.ts';

/** `--store`, then `$FEDAU_STORE`, then `artifacts/` in the working directory. */
export function storeRoot(flag?: string, env = process.env, cwd = process.cwd()): string {
  return resolve(cwd, flag ?? env.FEDAU_STORE ?? 'artifacts');
}

export interface LoadOptions {
  sets?: string[];
  registry?: StageRegistry;
  /** Schemas for the registry's kinds (default: the shipped `schemas/`). */
  schemas?: SchemaSet;
}

export async function loadPipeline(source: string | LoadedPipeline, opts: LoadOptions = {}): Promise<ResolvedPipeline> {
  const loaded = typeof source === 'string' ? await loadPipelineFile(source) : source;
  return resolvePipeline(loaded, { registry: opts.registry ?? stageRegistry, sets: opts.sets, schemas: opts.schemas });
}

export interface RunPipelineOptions extends LoadOptions {
  store?: string;
  reporters?: Reporter[];
  force?: boolean | string[];
  signal?: AbortSignal;
  /** `auto`, `tensorflow`, `wasm` or `cpu`; overrides the pipeline's `backend`. */
  backend?: string;
  workers?: number;
  workDir?: string;
  concurrency?: number;
  runtimeFacts?: (def: StageDefinition) => Promise<Record<string, string | number> | undefined>;
}

/** Loads, checks and runs a pipeline: the whole of `fedau run` without the terminal. */
export async function runPipeline(source: string | LoadedPipeline, opts: RunPipelineOptions = {}): Promise<RunResult> {
  const pipeline = await loadPipeline(source, opts);
  return executePipeline(pipeline, {
    store: new ArtifactStore(opts.store ?? storeRoot()),
    reporters: opts.reporters ?? [],
    force: opts.force,
    signal: opts.signal,
    runtime: { backend: opts.backend ?? pipeline.backend, workers: opts.workers ?? pipeline.workers },
    runtimeFacts: opts.runtimeFacts,
    workDir: opts.workDir,
    concurrency: opts.concurrency,
  });
}
