import { describe, expect, it } from 'vitest';
import { type ClientJobPayload, payloadProblems, WORKER_LIMITS } from '../../src/cluster/protocol.ts';

const digest = 'a'.repeat(64);
const job = (over: Partial<ClientJobPayload> = {}): ClientJobPayload => ({
  v: 1,
  runId: '20261202T000000Z-abcdef',
  stage: 'train',
  key: digest,
  facts: { fedau: '0.1.0', tfjs: '4.22.0', backend: 'wasm', kernels: 'fma 0123456789abcdef' },
  model: { name: 'lenet', classes: 10, inputShape: [28, 28, 1] },
  dataset: digest,
  partition: digest,
  weights: digest,
  task: {
    round: 0,
    client: 0,
    lr: 0.01,
    samples: 'all',
    recipe: { localEpochs: 2, batchSize: 128, momentum: 0.9, weightDecay: 5e-4, augment: true, seed: 0 },
  },
  ...over,
});

describe('the client job payload a worker accepts', () => {
  it('a job of the shipped pipelines passes', () => {
    expect(payloadProblems('client', job())).toEqual([]);
  });

  it('refuses inputs and work that would exhaust a worker, though within the stage schemas', () => {
    const huge = payloadProblems('client', job({ model: { name: 'lenet', classes: 10, inputShape: [512, 512, 512] } }));
    expect(huge.join()).toMatch(/\/model\/inputShape must be equal to one of the allowed values/);
    const task = job().task;
    const recipe = task.recipe;
    const long = payloadProblems('client', job({ task: { ...task, recipe: { ...recipe, localEpochs: 1000 } } }));
    expect(long.join()).toContain(`/task/recipe/localEpochs must be <= ${WORKER_LIMITS.localEpochs}`);
    const wide = payloadProblems('client', job({ task: { ...task, recipe: { ...recipe, batchSize: 65536 } } }));
    expect(wide.join()).toContain(`/task/recipe/batchSize must be <= ${WORKER_LIMITS.batchSize}`);
    const extra = payloadProblems(
      'client',
      job({ task: { ...task, recipe: { ...recipe, lrSchedule: 'x' } as never } }),
    );
    expect(extra.join()).toContain('/task/recipe must NOT have additional properties');
  });
});
