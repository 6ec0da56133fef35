import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.ts';
import { App } from '../../src/ui/ink/App.tsx';
import { PlainReporter } from '../../src/ui/plain-reporter.ts';
import { etaMs, initialViewState, reduceRunView, type ViewState } from '../../src/ui/run-view-state.ts';

const T0 = 1_000_000;
const at = (s: number) => T0 + s * 1000;

/** A run as the engine emits it: one stage cached, one training with progress, one failed, one skipped. */
const EVENTS: RunEvent[] = [
  {
    type: 'run:start',
    runId: 'r1',
    pipeline: 'mnist-ul-samples',
    runtime: 'backend wasm',
    time: at(0),
    stages: [
      { id: 'data', kind: 'dataset', needs: [] },
      { id: 'train', kind: 'train-federation', needs: ['data'] },
      { id: 'forget', kind: 'unlearn', needs: ['train'] },
      { id: 'report', kind: 'report', needs: ['forget'] },
    ],
  },
  { type: 'stage:queued', stageId: 'data', time: at(0) },
  { type: 'stage:cached', stageId: 'data', key: 'k'.repeat(64), outputs: {}, time: at(0.1) },
  { type: 'stage:start', stageId: 'train', key: 'j'.repeat(64), reason: 'param rounds: 10 → 20', time: at(1) },
  {
    type: 'stage:progress',
    stageId: 'train',
    step: 2,
    total: 20,
    label: 'round',
    metrics: { acc: 0.9512, asr: 0.5 },
    time: at(11),
  },
  {
    type: 'stage:log',
    stageId: 'train',
    level: 'warn',
    text: 'output "x" is corrupt in the store; the stage will run again',
    time: at(11),
  },
  {
    type: 'stage:progress',
    stageId: 'train',
    step: 6,
    total: 20,
    label: 'round 7',
    metrics: { acc: 0.9811, asr: 0.93 },
    time: at(31),
  },
];

const frame = (state: ViewState, now: number) => render(<App state={state} now={now} />).lastFrame()!;
const reduceAll = (events: RunEvent[]) => events.reduce(reduceRunView, initialViewState());

describe('run view', () => {
  it('reduces events to per-stage status and progress', () => {
    const state = reduceAll(EVENTS);
    expect(state.stages.map((s) => [s.id, s.status])).toEqual([
      ['data', 'cached'],
      ['train', 'running'],
      ['forget', 'pending'],
      ['report', 'pending'],
    ]);
    expect(state.stages[1].progress).toMatchObject({ step: 6, total: 20, metrics: { acc: 0.9811, asr: 0.93 } });
    // 4 rounds in 20 s since the first progress: 14 rounds left take 70 s.
    expect(etaMs(state.stages[1], at(31))).toBe(70_000);
  });

  it('renders every stage with its status, a progress bar with ETA and live metrics', () => {
    const text = frame(reduceAll(EVENTS), at(31));
    expect(text).toContain('fedau · mnist-ul-samples · backend wasm');
    expect(text).toMatch(/✔ data\s+dataset\s+cached/);
    expect(text).toMatch(/train\s+train-federation\s+round 7 ██████░+ 30%/);
    expect(text).toContain('ETA 1m10s');
    expect(text).toContain('acc 0.981 · asr 0.930');
    expect(text).toMatch(/· forget\s+unlearn\s+waiting/);
    expect(text).toContain('⚠ [train] output "x" is corrupt');
  });

  it('renders failures, skips and the final summary', () => {
    const state = reduceAll([
      ...EVENTS,
      { type: 'stage:end', stageId: 'train', status: 'success', durationMs: 95_000, time: at(96) },
      { type: 'stage:start', stageId: 'forget', key: 'f'.repeat(64), reason: 'never run before', time: at(96) },
      {
        type: 'stage:end',
        stageId: 'forget',
        status: 'failure',
        durationMs: 200,
        time: at(96.2),
        error: {
          name: 'DataError',
          code: 'FEDAU_DATA',
          message: 'client 12 does not exist',
          info: { hint: 'there are 10 clients' },
        },
      },
      { type: 'stage:skipped', stageId: 'report', reason: 'upstream-failed', because: 'forget', time: at(96.2) },
      {
        type: 'run:end',
        runId: 'r1',
        status: 'failure',
        counts: { success: 1, cached: 1, failure: 1, skipped: 1 },
        durationMs: 96_200,
        time: at(96.2),
      },
    ]);
    const text = frame(state, at(97));
    expect(text).toMatch(/✔ train\s+train-federation\s+done in 1m35s/);
    expect(text).toMatch(/✖ forget\s+unlearn\s+failed after 200ms/);
    expect(text).toContain('client 12 does not exist');
    expect(text).toContain('hint: there are 10 clients');
    expect(text).toMatch(/↷ report\s+report\s+skipped \(upstream failed: forget\)/);
    expect(text).toContain('✖ failure: 1 cached · 1 ran · 1 failed · 1 skipped in 1m36s');
  });

  it('the plain reporter prints a line per event and rate-limits progress', () => {
    const lines: string[] = [];
    const reporter = new PlainReporter({ write: (l) => lines.push(l), progressEveryMs: 5000 });
    for (const e of EVENTS) reporter.onEvent(e);
    reporter.onEvent({
      type: 'stage:progress',
      stageId: 'train',
      step: 7,
      total: 20,
      label: 'round 8',
      metrics: { acc: 0.9811, asr: 0.93 },
      time: at(32),
    });
    reporter.onEvent({
      type: 'stage:progress',
      stageId: 'train',
      step: 8,
      total: 20,
      metrics: { acc: 0.99, asr: 0.93 },
      time: at(33),
    });
    reporter.onEvent({
      type: 'stage:progress',
      stageId: 'train',
      step: 20,
      total: 20,
      label: 'round 20',
      time: at(34),
    });
    expect(lines).toEqual([
      '[run] mnist-ul-samples: 4 stages, backend wasm (run r1)',
      '[data] cached (key kkkkkkkkkkkk)',
      '[train] running: param rounds: 10 → 20',
      '[train] round  acc 0.951 · asr 0.500',
      '[train] warning: output "x" is corrupt in the store; the stage will run again',
      '[train] round 7  acc 0.981 · asr 0.930',
      '[train] step 8/20  acc 0.990 · asr 0.930',
      '[train] round 20',
    ]);
  });
});
