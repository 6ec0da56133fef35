import { describe, expect, it } from 'vitest';
import { type Reporter, ReporterHub, type RunEvent } from '../../src/engine/events.ts';

const collect = (): Reporter & { events: RunEvent[] } => {
  const events: RunEvent[] = [];
  return { events, onEvent: (e) => void events.push(e) };
};

describe('reporter hub', () => {
  it('a reporter that throws is replaced by the fallback, said once, and the fallback sees the whole run', () => {
    const warnings: string[] = [];
    const fallback = collect();
    class BrokenReporter implements Reporter {
      calls = 0;
      onEvent(e: RunEvent) {
        this.calls++;
        if (e.type === 'stage:start') throw new Error('React is not defined');
      }
    }
    const broken = new BrokenReporter();
    const hub = new ReporterHub([broken], { onFailure: { warn: (t) => warnings.push(t), fallback: () => fallback } });
    hub.emit({ type: 'run:start', runId: 'r', pipeline: 'p', stages: [{ id: 'a', kind: 'k', needs: [] }] });
    hub.emit({ type: 'stage:start', stageId: 'a', key: 'k', reason: 'never run before' });
    hub.emit({ type: 'stage:progress', stageId: 'a', step: 1, total: 2 });
    hub.emit({ type: 'stage:end', stageId: 'a', status: 'success', durationMs: 5 });
    expect(warnings).toEqual(['the broken reporter failed (React is not defined); carrying on with the custom one']);
    expect(broken.calls).toBe(2);
    // The run's events so far (progress aside) are replayed to the fallback, then the rest follow.
    expect(fallback.events.map((e) => e.type)).toEqual(['run:start', 'stage:start', 'stage:progress', 'stage:end']);
  });

  it('an asynchronous failure, or one while closing, is handled the same way', async () => {
    const warnings: string[] = [];
    const fallback = collect();
    const failing: Reporter = {
      onEvent: async () => undefined,
      close: async () => {
        throw new Error('last frame failed');
      },
    };
    const hub = new ReporterHub([failing], { onFailure: { warn: (t) => warnings.push(t), fallback: () => fallback } });
    hub.emit({ type: 'run:start', runId: 'r', pipeline: 'p', stages: [] });
    hub.emit({
      type: 'run:end',
      runId: 'r',
      status: 'success',
      counts: { success: 0, cached: 0, failure: 0, skipped: 0 },
      durationMs: 1,
    });
    await hub.close();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('last frame failed');
    expect(fallback.events.map((e) => e.type)).toEqual(['run:start', 'run:end']);
  });

  it('without a failure policy, the others are told with a warning', () => {
    const other = collect();
    const hub = new ReporterHub([
      {
        onEvent: () => {
          throw new Error('boom');
        },
      },
      other,
    ]);
    hub.emit({ type: 'run:start', runId: 'r', pipeline: 'p', stages: [] });
    expect(other.events.map((e) => e.type)).toEqual(['run:start', 'stage:log']);
    expect(other.events[1]).toMatchObject({ level: 'warn', text: expect.stringContaining('boom') });
  });
});
