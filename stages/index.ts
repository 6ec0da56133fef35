import type { StageRegistry } from '../src/engine/stage.ts';
import dataset from './dataset.ts';
import evaluate from './evaluate.ts';
import partition from './partition.ts';
import report from './report.ts';
import retrain from './retrain.ts';
import trainFederation from './train-federation.ts';
import unlearn from './unlearn.ts';

/** Every stage kind, by the name a pipeline's `uses:` gives. Registration is explicit: no import side effects. */
export const stageRegistry = {
  dataset,
  partition,
  'train-federation': trainFederation,
  retrain,
  unlearn,
  evaluate,
  report,
} satisfies StageRegistry;

export type StageKind = keyof typeof stageRegistry;
