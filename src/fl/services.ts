import type { ArtifactRef } from '../engine/stage.ts';
import type { BackendChoice } from '../ml/backends/backend.ts';
import type { ModelDef } from '../ml/models/model.ts';
import type { ClientRunner } from '../ml/train/job.ts';

/** What a training needs to know of where clients train, handed to it by whoever runs the pipeline. */
export interface RunnerRequest {
  runId: string;
  stage: string;
  key: string;
  model: ModelDef;
  backend: BackendChoice;
  dataset: ArtifactRef;
  partition: ArtifactRef;
  /** The partition's forget set: what each client keeps or leaves out. */
  forget: Uint8Array;
  read(ref: ArtifactRef): Promise<Uint8Array>;
  log(level: 'info' | 'warn', text: string): void;
  /** Told which machine took a client's job, for the live view. */
  onAssigned?(client: number, worker: string): void;
}

/** A runner whose clients train elsewhere: what it is (for the log), and who computed what (for the record). */
export interface RemoteRunner extends ClientRunner {
  describe: string;
  provenance(): object;
}

/**
 * Makes the runner of a training when clients train elsewhere (a cluster). `local` is this process's own runner,
 * made on first need: for verifying answers, and for doing what a faulty worker answered.
 */
export type RunnerFactory = (req: RunnerRequest, local: () => Promise<ClientRunner>) => Promise<RemoteRunner>;

/** The services a run hands its training stages: how to compute, and where. */
export interface TrainingServices {
  /** The backend asked for: auto, tensorflow, webgpu, wasm or cpu (resolved on each machine). */
  backend: string;
  /** Trainer threads on this machine; 0: one per core. */
  threads: number;
  /** Where clients train when not on this machine's threads. */
  runners?: RunnerFactory;
}

/** The training services out of a run's services, with their defaults. */
export function trainingServices(services: Readonly<Record<string, unknown>>): TrainingServices {
  return {
    backend: typeof services.backend === 'string' ? services.backend : 'auto',
    threads: typeof services.threads === 'number' ? services.threads : 0,
    ...(typeof services.runners === 'function' ? { runners: services.runners as RunnerFactory } : {}),
  };
}
