import type { ArtifactKind } from '../artifacts/kinds.ts';
import type { KeyParts } from './hash.ts';

export type { ArtifactKind };

/** A stored output. `digest` is the SHA-256 of its bytes; `meta` is shown in the UI and never hashed. */
export interface ArtifactRef {
  readonly kind: ArtifactKind;
  readonly digest: string;
  readonly size: number;
  readonly meta?: Readonly<Record<string, string | number | boolean>>;
}

export interface ProgressUpdate {
  step: number;
  total?: number;
  label?: string;
  metrics?: Record<string, number>;
}

export type LogLevel = 'debug' | 'info' | 'warn';

/** Facts of the run that are not params: the tfjs backend chosen, worker count. */
export interface RuntimeOptions {
  /** The requested backend (`auto`, `tensorflow`, `wasm`, `cpu`); stages that use tfjs resolve it. */
  backend: string;
  /** Worker threads for client training; 0 means one per core. */
  workers: number;
  /**
   * The cluster of `fedau run --redis` (src/cluster): training stages hand their clients' local updates to its
   * workers. The engine only passes it along.
   */
  cluster?: unknown;
}

/**
 * Runs whole stages elsewhere (on the workers of a cluster): the executor still keys them, looks them up, stores
 * their outputs and writes their records. A stage kind qualifies when it declares `remote`.
 */
export interface RemoteStages {
  accepts(def: StageDefinition): boolean;
  run(
    stage: { id: string; kind: string; params: Record<string, unknown>; seed: number; def: StageDefinition },
    ctx: StageContext,
  ): Promise<Record<string, ArtifactRef>>;
  /**
   * Once every stage has settled: the remote stages whose accepted results turned out wrong since (their worker was
   * caught answering wrong later in the run). The executor removes them and what was computed from them from the
   * cache, and fails the run.
   */
  audit?(): Promise<{ stageId: string; worker: string; reason: string }[]>;
}

export interface StageContext<P = Record<string, unknown>> {
  /** The YAML key; not part of the cache key. */
  readonly stageId: string;
  /** This `fedau run`'s id. */
  readonly runId: string;
  readonly kind: string;
  readonly params: Readonly<P>;
  readonly inputs: Readonly<Record<string, ArtifactRef>>;
  readonly seed: number;
  /**
   * Gathering stages: each variant with its inputs (named as the definition names them), and the variants whose
   * upstream failed. Other stages read `inputs`.
   */
  readonly variants?: { id: string; values: Record<string, unknown>; inputs: Record<string, ArtifactRef> }[];
  readonly failedVariants?: string[];
  readonly key: string;
  readonly keyParts: KeyParts;
  readonly signal: AbortSignal;
  readonly pipeline: { readonly name: string; readonly file?: string };
  readonly runtime: RuntimeOptions & { readonly resolvedBackend?: string };
  /** A private folder that survives a killed run and is keyed by the stage key (for checkpoints). */
  readonly checkpointDir: string;
  /** A folder shared by all stages for verified downloads (files named by their SHA-256). */
  readonly downloadDir: string;
  /** Where user-facing files (reports) go; the working directory by default. */
  readonly workDir: string;
  /** Bytes of an input, verified against its digest. */
  readArtifact(ref: ArtifactRef): Promise<Uint8Array>;
  /** Stores bytes atomically and returns their reference. */
  writeArtifact(kind: ArtifactKind, bytes: Uint8Array, meta?: ArtifactRef['meta']): Promise<ArtifactRef>;
  progress(update: ProgressUpdate): void;
  log(level: LogLevel, text: string): void;
  /** Where the outputs came from (which machines computed what): kept in the run record and the run log. */
  setProvenance(record: object): void;
}

/** What `publish` gets: enough to copy outputs into the working directory, on a cache hit or after a run. */
export type PublishContext<P = Record<string, unknown>> = Pick<
  StageContext<P>,
  'stageId' | 'kind' | 'params' | 'pipeline' | 'workDir' | 'readArtifact' | 'log'
>;

// biome-ignore lint/suspicious/noExplicitAny: a registry holds stages of every params type
export interface StageDefinition<P = any> {
  /** Registry key and the YAML `uses:` value. */
  readonly kind: string;
  /** Bump when the same inputs would now give different outputs: it invalidates old cache entries. */
  readonly version: number;
  /** One line for `fedau stages` and the README. */
  readonly summary: string;
  /** input name → artifact kind it must be */
  readonly inputs: Readonly<Record<string, ArtifactKind>>;
  /** Inputs that may be left out of `needs`. */
  readonly optionalInputs?: readonly string[];
  /** output name → artifact kind produced */
  readonly outputs: Readonly<Record<string, ArtifactKind>>;
  /**
   * True when the stage reads something outside the store (files on disk) that may have changed: it then runs
   * every time, and early cutoff keeps its dependents cached when its outputs come out byte-identical.
   */
  volatile?(params: P): boolean;
  /** Adds the tfjs version and backend to the cache key. */
  readonly usesTfjs?: boolean;
  /**
   * Whether the stage draws random numbers from its seed (default: yes). A stage that does not leaves the seed out
   * of its key, so the seeds of a matrix share it (the same MNIST is loaded once for every seed).
   */
  seeded?(params: P): boolean;
  /**
   * A gathering stage reads the same inputs from every variant of a matrix (the report aggregating over seeds):
   * it runs once, after all of them, with the variants that succeeded, and a failed variant does not skip it.
   */
  readonly gather?: boolean;
  /**
   * The stage reads only artifacts and params (no local files, no terminal): `fedau run --redis` may run it on a
   * worker. Training stages instead spread their clients over the workers.
   */
  readonly remote?: boolean;
  /** A line for `fedau plan` on what running it costs; `inputs` holds the upstream artifacts already known. */
  estimateCost?(params: P, inputs: Readonly<Record<string, ArtifactRef | undefined>>): string | undefined;
  run(ctx: StageContext<P>): Promise<Record<string, ArtifactRef>>;
  /** Writes user-facing copies of the outputs (e.g. reports/<name>/report.md); runs on cache hits too. */
  publish?(ctx: PublishContext<P>, outputs: Record<string, ArtifactRef>): Promise<string[]>;
}

/** Identity helper that keeps each stage file's params type. */
export const defineStage = <P>(def: StageDefinition<P>): StageDefinition<P> => def;

export type StageRegistry = Readonly<Record<string, StageDefinition>>;
