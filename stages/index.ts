import type { StageRegistry } from '../src/engine/stage.ts';
import amnesiac from './amnesiac.ts';
import cdp from './cdp.ts';
import dataset from './dataset.ts';
import evaluate from './evaluate.ts';
import federaser from './federaser.ts';
import fedrecovery from './fedrecovery.ts';
import finetune from './finetune.ts';
import partition from './partition.ts';
import pga from './pga.ts';
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
  finetune,
  federaser,
  fedrecovery,
  amnesiac,
  pga,
  cdp,
  evaluate,
  report,
} satisfies StageRegistry;

export type StageKind = keyof typeof stageRegistry;
