import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { Text } from 'ink';
import { describe, expect, it, vi } from 'vitest';
import { ReporterHub, type RunEventInput } from '../../src/engine/events.ts';
import { InkReporter } from '../../src/ui/ink-reporter.tsx';
import { PlainReporter } from '../../src/ui/plain-reporter.ts';
import type { ViewState } from '../../src/ui/run-view-state.ts';

// Ink decides once, when it loads, whether it runs under CI (and then draws only the last frame). These tests are
// about the live view, so they run as on a user's terminal even when the suite itself runs under CI.
vi.hoisted(() => {
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
});

/** A terminal stand-in for Ink: keeps what is written to it. */
function fakeTerminal(columns = 100) {
  let drawn = '';
  const stream = Object.assign(new PassThrough(), { columns, rows: 30, isTTY: true });
  const write = stream.write.bind(stream);
  stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    drawn += String(chunk);
    return write(chunk, ...rest);
  }) as typeof stream.write;
  return { stdout: stream as unknown as NodeJS.WriteStream, drawn: () => drawn };
}

/** A view that draws the first events, then breaks once a stage starts (as a JSX runtime mismatch would). */
function BreaksOnStart({ state }: { state: ViewState }) {
  if (state.stages.some((s) => s.status === 'running')) throw new Error('React is not defined');
  return <Text>{`view of ${state.pipeline}`}</Text>;
}

const RUN: RunEventInput[] = [
  { type: 'run:start', runId: 'r1', pipeline: 'smoke', stages: [{ id: 'data', kind: 'dataset', needs: [] }] },
  { type: 'stage:start', stageId: 'data', key: 'k'.repeat(64), reason: 'never run before' },
  { type: 'stage:end', stageId: 'data', status: 'success', durationMs: 12 },
  {
    type: 'run:end',
    runId: 'r1',
    status: 'success',
    counts: { success: 1, cached: 0, failure: 0, skipped: 0 },
    durationMs: 20,
  },
];

describe('Ink reporter', () => {
  it('draws the run view on a terminal', async () => {
    const terminal = fakeTerminal();
    const hub = new ReporterHub([new InkReporter({ stdout: terminal.stdout, patchConsole: false })]);
    for (const e of RUN) hub.emit(e);
    await hub.close();
    expect(terminal.drawn()).toContain('smoke');
    expect(terminal.drawn()).toMatch(/data\s+dataset/);
    expect(terminal.drawn()).toContain('success: 0 cached · 1 ran');
  });

  it('a view that throws is reported once and the run carries on with the plain reporter', async () => {
    const terminal = fakeTerminal();
    const warnings: string[] = [];
    const lines: string[] = [];
    const hub = new ReporterHub(
      [new InkReporter({ stdout: terminal.stdout, view: BreaksOnStart, patchConsole: false })],
      {
        onFailure: {
          warn: (t) => warnings.push(t),
          fallback: () => new PlainReporter({ write: (l) => lines.push(l) }),
        },
      },
    );
    for (const e of RUN) hub.emit(e);
    await hub.close();
    expect(terminal.drawn()).toContain('view of smoke');
    expect(warnings).toEqual(['the ink reporter failed (React is not defined); carrying on with the plain one']);
    expect(lines[0]).toMatch(/^\[run\] smoke: 1 stages/);
    expect(lines).toContain('[data] running: never run before');
    expect(lines.at(-1)).toMatch(/^\[run\] success: 0 cached · 1 ran/);
  });
});

describe('Ink reporter on a narrow terminal', () => {
  it('never draws a line wider than the terminal (a wrapped line breaks the redraw); ids stay whole', async () => {
    const terminal = fakeTerminal(60);
    const hub = new ReporterHub([new InkReporter({ stdout: terminal.stdout, patchConsole: false })]);
    hub.emit({
      type: 'run:start',
      runId: 'r2',
      pipeline: 'smoke',
      stages: [{ id: 'train', kind: 'train-federation', needs: [] }],
    });
    hub.emit({ type: 'stage:start', stageId: 'train', key: 'k'.repeat(64), reason: 'never run before' });
    hub.emit({
      type: 'stage:progress',
      stageId: 'train',
      step: 1,
      total: 16,
      label: 'round 1/4 · client 1/4',
      metrics: { acc: 0.39, asr: 0.911, 'ul-acc': 0.09, 'ul-asr': 0, loss: 2.505 },
    });
    await new Promise((r) => setTimeout(r, 150));
    await hub.close();
    const lines = stripVTControlCharacters(terminal.drawn()).split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(60);
    expect(lines.some((l) => /train train-federation round 1\/4/.test(l))).toBe(true);
  });
});

describe('choosing a reporter', () => {
  it('is plain in CI by the rule Ink itself follows, plain in a pipe, and Ink on a terminal', async () => {
    const { chooseReporter } = await import('../../src/ui/select-reporter.ts');
    expect(chooseReporter(undefined, {}, true)).toBe('ink');
    expect(chooseReporter(undefined, {}, false)).toBe('plain');
    expect(chooseReporter(undefined, { CI: 'true' }, true)).toBe('plain');
    expect(chooseReporter(undefined, { CONTINUOUS_INTEGRATION: '1' }, true)).toBe('plain');
    expect(chooseReporter(undefined, { CI: 'false' }, true)).toBe('ink');
    expect(chooseReporter(undefined, { CI: '1', FEDAU_REPORTER: 'ink' }, true)).toBe('ink');
    expect(() => chooseReporter('fancy', {}, true)).toThrow(/unknown reporter "fancy"/);
  });
});
