import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { WorkerEvent } from '../../src/cluster/worker-events.ts';
import { applyWorkerEvent, newWorkerViewState, WorkerView } from '../../src/ui/worker-view.tsx';

const facts = { fedau: '0.1.0', tfjs: '4.22.0', backend: 'wasm', kernels: 'fma 0123456789abcdef' };

/** The frame the worker's view shows after `events`. */
function frameAfter(events: WorkerEvent[]): string {
  const state = newWorkerViewState();
  for (const e of events) applyWorkerEvent(state, e);
  return render(<WorkerView state={state} now={Date.now()} />).lastFrame()!;
}

describe("the worker's Ink view", () => {
  const ready: WorkerEvent = {
    type: 'ready',
    id: 'host-1',
    url: 'redis://127.0.0.1:6379',
    facts,
    concurrency: 1,
    store: '/s',
  };
  const start: WorkerEvent = { type: 'job:start', job: 'j1', what: 'client 3 of train (round 1)' };

  it('shows the job in hand, then a line per finished job and the count', () => {
    expect(frameAfter([ready, start])).toContain('⠿ client 3 of train (round 1)');
    const after = frameAfter([ready, start, { type: 'job:end', job: 'j1', what: start.what, seconds: 1.25 }]);
    expect(after).toContain('client 3 of train (round 1): done in 1.3 s');
    expect(after).toContain('waiting for jobs · 1 done');
    expect(after).not.toContain('⠿');
  });

  it('after Ctrl-C its last frame says the worker stopped, not that it waits for jobs', () => {
    const done: WorkerEvent = { type: 'job:end', job: 'j1', what: start.what, seconds: 1 };
    const stopping = frameAfter([ready, start, done, { type: 'stopping', handBack: false }]);
    expect(stopping).toContain('stopping · 1 done');
    const stopped = frameAfter([ready, start, done, { type: 'stopping', handBack: false }, { type: 'stopped' }]);
    expect(stopped).toContain('stopped · 1 done');
    expect(stopped).not.toContain('waiting for jobs');
  });
});
