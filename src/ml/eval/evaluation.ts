import type { Comparison, ModelMetrics, UnlearnedCurve, UnlearnSettingsRecord } from '../../artifacts/metrics.ts';
import type { UnlearnMode } from '../../artifacts/partition.ts';
import type { Trace } from '../../artifacts/trace.ts';
import { unlearnedLogits } from '../fedau/unlearn-op.ts';
import type { EvalSets } from './eval-sets.ts';
import { accuracy, agreement, argmax, crossEntropyPerRow, meanKl, membershipAuc, perClassAccuracy } from './scores.ts';

/** A model's logits on each evaluation set ([count × classes]), as `predictLogits` gives them. */
export interface ModelOutputs {
  all: Float32Array;
  forget?: Float32Array;
  forgetTrain?: Float32Array;
  nonMembers?: Float32Array;
}

/** The sets a model must be run on: each distinct set once (the MIA's non-members are often the forget set). */
export function setsToPredict(sets: EvalSets): (keyof ModelOutputs)[] {
  const names: (keyof ModelOutputs)[] = ['all'];
  if (sets.forget) names.push('forget');
  if (sets.forgetTrain && sets.forgetTrain !== sets.forget) names.push('forgetTrain');
  if (sets.nonMembers && sets.nonMembers !== sets.forget && sets.nonMembers !== sets.all) names.push('nonMembers');
  return names;
}

/** Fills in the outputs of sets that are the same set under another name. */
export function completeOutputs(out: ModelOutputs, sets: EvalSets): ModelOutputs {
  const of = (set: unknown) => (set === sets.all ? out.all : set === sets.forget ? out.forget : undefined);
  return {
    ...out,
    forgetTrain: out.forgetTrain ?? of(sets.forgetTrain),
    nonMembers: out.nonMembers ?? of(sets.nonMembers),
  };
}

/** Every figure of one model: test and per-class accuracy, the forget metric on both sets, and the MIA's AUC. */
export function modelMetrics(out: ModelOutputs, sets: EvalSets, classes: number, target: number | null): ModelMetrics {
  const all = argmax(out.all, classes);
  const perClass = perClassAccuracy(all, sets.all.expected, classes);
  const scored = (logits: Float32Array | undefined, set: { expected: Int32Array } | undefined) =>
    logits && set ? accuracy(argmax(logits, classes), set.expected) : null;
  let miaAuc: number | null = null;
  if (sets.forgetTrain && sets.nonMembers && out.forgetTrain && out.nonMembers) {
    miaAuc = membershipAuc(
      crossEntropyPerRow(out.forgetTrain, sets.forgetTrain.trained, classes),
      crossEntropyPerRow(out.nonMembers, sets.nonMembers.expected, classes),
    );
  }
  return {
    testAccuracy: accuracy(all, sets.all.expected, sets.testMask),
    forget: scored(out.forget, sets.forget),
    forgetTrain: scored(out.forgetTrain, sets.forgetTrain),
    perClassAccuracy: perClass,
    targetAccuracy: target === null ? null : perClass[target],
    miaAuc,
    mia: null,
    relearnRounds: null,
  };
}

/** The unlearned model against the retrained one on the whole test set. */
export function compareModels(
  unlearned: ModelOutputs,
  retrained: ModelOutputs,
  sets: EvalSets,
  classes: number,
): Comparison {
  const a = argmax(unlearned.all, classes);
  const b = argmax(retrained.all, classes);
  const pa = perClassAccuracy(a, sets.all.expected, classes);
  const pb = perClassAccuracy(b, sets.all.expected, classes);
  return {
    agreement: agreement(a, b),
    kl: meanKl(retrained.all, unlearned.all, classes),
    maxPerClassGap: Math.max(...pa.map((v, c) => Math.abs(v - pb[c]))),
  };
}

/**
 * The unlearned model's per-round test accuracy and forget metric, from the training's logits trace, for
 * `settings` (the unlearn stage's own, unless the pipeline asks for others).
 */
export function unlearnedCurve(
  trace: Trace,
  sets: EvalSets,
  mode: UnlearnMode,
  settings: UnlearnSettingsRecord,
): UnlearnedCurve {
  const { heads, classes, rounds } = trace.header;
  const forgotten = settings.clients.map((k) => {
    const h = heads.indexOf(`ul:${k}`);
    if (h < 0) throw new Error(`the trace has no head for client ${k}`);
    return h;
  });
  const rule = {
    mode,
    alpha: settings.alpha,
    rule: settings.rule as 'mix' | 'w2only',
    classScale: settings.classScale,
  };
  const score = (set: 'all' | 'forget', round: number, expected: Int32Array, mask?: Uint8Array) =>
    accuracy(
      argmax(unlearnedLogits(trace.logits(round, set), heads.length, classes, forgotten, rule), classes),
      expected,
      mask,
    );
  return {
    settings,
    rounds: rounds.map((round) => ({
      round,
      testAccuracy: score('all', round, sets.all.expected, sets.testMask),
      forget: sets.forget ? score('forget', round, sets.forget.expected) : null,
    })),
  };
}
