import type { StageRegistry } from '../src/engine/stage.ts';
import dataset from './dataset.ts';
import partition from './partition.ts';

/** Every stage kind, by the name a pipeline's `uses:` gives. Registration is explicit: no import side effects. */
export const stageRegistry = {
  dataset,
  partition,
} satisfies StageRegistry;

export type StageKind = keyof typeof stageRegistry;
