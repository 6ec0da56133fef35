import { decodeRef } from './artifact-io.ts';
import type { KeyParts } from './hash.ts';
import type { ArtifactRef, LogLevel, ProgressUpdate, RunServices, StageContext } from './stage.ts';
import type { ArtifactStore } from './store.ts';

/** Everything a stage's context is made of; the executor and a cluster worker both build contexts from it. */
export interface ContextParts {
  stage: { id: string; kind: string; params: Record<string, unknown>; seed: number };
  runId: string;
  key: string;
  keyParts: KeyParts;
  inputs: Record<string, ArtifactRef>;
  variants?: StageContext['variants'];
  failedVariants?: string[];
  store: ArtifactStore;
  signal: AbortSignal;
  pipeline: { name: string; file?: string };
  services: RunServices;
  workDir: string;
  progress(update: ProgressUpdate): void;
  log(level: LogLevel, text: string): void;
  setProvenance?(record: object): void;
}

/** The one way a stage's context is built: reads and writes go to the store, progress and logs to the caller. */
export function makeStageContext(x: ContextParts): StageContext {
  return {
    stageId: x.stage.id,
    runId: x.runId,
    kind: x.stage.kind,
    params: x.stage.params,
    inputs: x.inputs,
    ...(x.variants ? { variants: x.variants, failedVariants: x.failedVariants ?? [] } : {}),
    seed: x.stage.seed,
    key: x.key,
    keyParts: x.keyParts,
    signal: x.signal,
    pipeline: x.pipeline,
    services: x.services,
    checkpointDir: x.store.checkpointDir(x.key),
    downloadDir: x.store.downloadDir,
    workDir: x.workDir,
    readArtifact: (ref) => x.store.getBytes(ref),
    decode: (ref) => decodeRef(x.store, ref),
    writeArtifact: (kind, bytes, meta) => x.store.putBytes(kind, bytes, meta),
    progress: x.progress,
    log: x.log,
    setProvenance: x.setProvenance ?? (() => undefined),
  };
}
