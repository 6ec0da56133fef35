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
}

export interface ResolvedPipeline {
  name: string;
  file?: string;
  seed: number;
  backend: string;
  workers: number;
  concurrency: number;
  /** Topological order (ties in declaration order). */
  stages: ResolvedStage[];
}
