import type { ArtifactValues } from '../artifacts/codecs.ts';
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

/**
 * What a run offers its stages besides params and inputs (what to compute on, how many threads, a
 * cluster): set by whoever runs the pipeline, passed to stages as is, never read by the engine.
 */
export type RunServices = Readonly<Record<string, unknown>>;

/**
 * Runs whole stages elsewhere (on the workers of a cluster): the executor still keys them, looks them up, stores
 * their outputs and writes their records. A stage kind qualifies when it declares `remote`.
 */
export interface RemoteStages {
  accepts(def: StageDefinition): boolean;
  /** Runs the stage elsewhere; `runHere` computes it in this process instead (to verify, or to replace). */
  run(
    stage: { id: string; kind: string; params: Record<string, unknown>; seed: number; def: StageDefinition },
    ctx: StageContext,
    runHere: () => Promise<Record<string, ArtifactRef>>,
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
  readonly services: RunServices;
  /** A private folder that survives a killed run and is keyed by the stage key (for checkpoints). */
  readonly checkpointDir: string;
  /** A folder shared by all stages for verified downloads (files named by their SHA-256). */
  readonly downloadDir: string;
  /** Where user-facing files (reports) go; the working directory by default. */
  readonly workDir: string;
  /** Bytes of an input, verified against its digest. */
  readArtifact(ref: ArtifactRef): Promise<Uint8Array>;
  /** An artifact decoded by its kind's codec (a gathering stage's variants, say); decoded once per process. */
  decode<K extends ArtifactKind>(ref: ArtifactRef & { kind: K }): Promise<ArtifactValues[K]>;
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

/**
 * What a stage returns for one output: a value its kind's codec encodes, bytes already encoded, or an artifact
 * already in the store. The engine stores it and names it by its digest.
 */
export type StageOutput<T = unknown> =
  | { value: T; meta?: ArtifactRef['meta'] }
  | { bytes: Uint8Array; meta?: ArtifactRef['meta'] }
  | ArtifactRef;

type Kinds = Readonly<Record<string, ArtifactKind>>;
/** A stage's inputs, decoded: each by its kind's codec (an optional input not wired is undefined). */
export type DecodedInputs<I extends Kinds> = { readonly [K in keyof I]: ArtifactValues[I[K]] };
/** What a stage's run returns, output by output. */
export type StageOutputs<O extends Kinds, X extends string = never> = {
  [K in Exclude<keyof O, X>]: StageOutput<ArtifactValues[O[K]]>;
} & { [K in X & keyof O]?: StageOutput<ArtifactValues[O[K]]> };

// biome-ignore lint/suspicious/noExplicitAny: a registry holds stages of every params type
export interface StageDefinition<P = any, I extends Kinds = any, O extends Kinds = any, X extends string = any> {
  /** Registry key and the YAML `uses:` value. */
  readonly kind: string;
  /** Bump when the same inputs would now give different outputs: it invalidates old cache entries. */
  readonly version: number;
  /** One line for `fedau stages` and the README. */
  readonly summary: string;
  /** input name → artifact kind it must be */
  readonly inputs: I;
  /** Inputs that may be left out of `needs`. */
  readonly optionalInputs?: readonly (keyof I & string)[];
  /** output name → artifact kind produced */
  readonly outputs: O;
  /**
   * Outputs made only when the params ask for them, each with the hint a stage that needs a missing one is given
   * (what to set to have it).
   */
  readonly optionalOutputs?: Readonly<Record<X, string>>;
  /**
   * True when the stage reads something outside the store (files on disk) that may have changed: it then runs
   * every time, and early cutoff keeps its dependents cached when its outputs come out byte-identical.
   */
  volatile?(params: P): boolean;
  /**
   * Facts of the machine the stage's outputs depend on (a library version, the device it computes on), added to its
   * cache key: asked once per run for each such stage, with the run's services.
   */
  runtimeKey?(services: RunServices): Promise<Record<string, string | number>>;
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
  /** Computes the outputs from the decoded inputs (`ctx.inputs` has their references). */
  run(ctx: StageContext<P>, inputs: DecodedInputs<I>): Promise<StageOutputs<O, NoInfer<X>>>;
  /** Writes user-facing copies of the outputs (e.g. reports/<name>/report.md); runs on cache hits too. */
  publish?(ctx: PublishContext<P>, outputs: Record<string, ArtifactRef>): Promise<string[]>;
}

/**
 * Types a stage definition: `defineStage<Params>()({ ... })` keeps the params type, and infers from the declared
 * inputs and outputs what `run` receives decoded and returns.
 */
export const defineStage =
  <P>() =>
  <const I extends Kinds, const O extends Kinds, const X extends string = never>(
    def: StageDefinition<P, I, O, X>,
  ): StageDefinition<P, I, O, X> =>
    def;

export type StageRegistry = Readonly<Record<string, StageDefinition>>;
