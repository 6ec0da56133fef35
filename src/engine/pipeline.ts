import type { StageDefinition } from './stage.ts';

/** A pipeline as the engine runs it: checked, defaults applied, stages in order. The config layer builds it. */
export interface InputRef {
  stage: string;
  output: string;
}

export interface ResolvedStage {
  id: string;
  kind: string;
  def: StageDefinition;
  /** Params after defaults: exactly what is hashed into the key. */
  params: Record<string, unknown>;
  needs: Record<string, InputRef>;
  /** `cache: false` runs the stage every time. */
  cache: boolean;
  seed: number;
  /** In a matrix pipeline: the stage's id in the file, and the varied values this instance of it is for. */
  origin?: { id: string; values: Record<string, unknown> };
  /**
   * A gathering stage (the report) reads every variant of a matrix: its needs are named `<input>@<variant id>`,
   * one set per variant, and these are the variants. Absent for every other stage.
   */
  variants?: Variant[];
}

/** One combination of a matrix's values: `{ seed: 1, 'forget.alpha': 0.5 }`, with an id made of them. */
export interface Variant {
  id: string;
  values: Record<string, unknown>;
}

/** A matrix as the config layer expanded it: the varied keys with their values, and every combination. */
export interface Matrix {
  dims: { key: string; values: unknown[] }[];
  variants: Variant[];
}

export interface ResolvedPipeline {
  name: string;
  file?: string;
  seed: number;
  concurrency: number;
  /**
   * The pipeline's other top-level settings (how to compute, and where): for whoever runs it to turn into services;
   * the engine does not read them.
   */
  settings: Readonly<Record<string, unknown>>;
  /** Topological order (ties in declaration order). */
  stages: ResolvedStage[];
  /** Present when the pipeline has a `matrix:` (or `--matrix`): its stages are the expanded instances. */
  matrix?: Matrix;
}
