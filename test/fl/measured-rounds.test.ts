import { describe, expect, it } from 'vitest';
import type { RunLog, StageLogEntry } from '../../src/engine/run-log.ts';
import { measuredRoundSeconds } from '../../src/fl/measured-rounds.ts';

const recipe = { model: 'lenet', rounds: 30, localEpochs: 2, batchSize: 128, lr: 0.01 };

function training(params: Record<string, unknown>, seconds: number, opts: Partial<StageLogEntry> = {}): StageLogEntry {
  return {
    kind: 'train-federation',
    status: 'success',
    parts: { cacheFormat: 1, kind: 'train-federation', version: 2, params, inputs: {}, runtime: { backend: 'wasm' } },
    outputs: { history: { kind: 'history', digest: 'd', size: 1, meta: { seconds } } },
    ...opts,
  };
}

function run(runId: string, stages: Record<string, StageLogEntry>): RunLog {
  return { runId, pipeline: 'p', pid: 1, startedAt: runId, status: 'success', stages };
}

describe('the time per round measured in this store', () => {
  const stage = { kind: 'train-federation', params: { ...recipe, rounds: 200 } };

  it('comes from the latest finished training of the same recipe on the same backend, whatever its rounds', () => {
    const logs = [
      run('2026-01', { train: training({ ...recipe, rounds: 10 }, 100) }),
      run('2026-02', { train: training({ ...recipe, rounds: 20 }, 240) }),
    ];
    expect(measuredRoundSeconds(logs, stage, { backend: 'wasm' })).toEqual({ seconds: 12, runId: '2026-02' });
  });

  it('ignores another recipe, another backend or adapter, a failed or cached stage, and another kind', () => {
    const logs = [
      run('2026-01', { train: training(recipe, 300) }),
      run('2026-02', { train: training({ ...recipe, batchSize: 32 }, 900) }),
      run('2026-03', {
        train: training(recipe, 900, { parts: { ...training(recipe, 900).parts!, runtime: {} } }),
      }),
      run('2026-04', { train: training(recipe, 900, { status: 'failure' }) }),
      run('2026-05', { train: training(recipe, 900, { status: 'cached' }) }),
      run('2026-06', { retrain: training(recipe, 900, { kind: 'retrain' }) }),
      run('2026-07', {
        train: training(recipe, 60, {
          parts: { ...training(recipe, 60).parts!, runtime: { backend: 'webgpu', adapter: 'gpu-a' } },
        }),
      }),
    ];
    expect(measuredRoundSeconds(logs, stage, { backend: 'wasm' })).toEqual({ seconds: 10, runId: '2026-01' });
    expect(measuredRoundSeconds(logs, stage, { backend: 'webgpu', adapter: 'gpu-a' })).toEqual({
      seconds: 2,
      runId: '2026-07',
    });
    expect(measuredRoundSeconds(logs, stage, { backend: 'webgpu', adapter: 'llvmpipe' })).toBeUndefined();
    expect(measuredRoundSeconds([], stage, { backend: 'wasm' })).toBeUndefined();
  });
});
