import { Box, render, Static, Text } from 'ink';
import type { WorkerEvent } from '../cluster/worker-events.ts';
import { workerLine } from './worker-lines.ts';

export interface ViewState {
  header?: string;
  lines: { key: number; text: string }[];
  running: Map<string, { what: string; since: number }>;
  done: number;
  /** Shown when no job is in hand: after Ctrl-C the last frame says the worker stopped, not that it waits. */
  idle: 'waiting for jobs' | 'stopping' | 'stopped';
}

export function WorkerView({ state, now }: { state: ViewState; now: number }) {
  return (
    <Box flexDirection="column">
      <Static items={state.lines}>{(l) => <Text key={l.key}>{l.text}</Text>}</Static>
      <Text bold>{state.header ?? 'fedau worker: connecting'}</Text>
      {[...state.running.values()].map((r) => (
        <Text key={r.what}>
          <Text color="cyan">⠿ </Text>
          {r.what} <Text color="gray">{((now - r.since) / 1000).toFixed(0)} s</Text>
        </Text>
      ))}
      <Text color="gray">
        {state.running.size ? '' : `${state.idle} · `}
        {state.done} done
      </Text>
    </Box>
  );
}

/** The view's state after `e`. */
export function applyWorkerEvent(state: ViewState, e: WorkerEvent): void {
  if (e.type === 'ready') state.header = workerLine(e);
  else if (e.type === 'job:start') state.running.set(e.job, { what: e.what, since: Date.now() });
  else {
    if (e.type === 'stopping' || e.type === 'stopped') state.idle = e.type;
    if (e.type === 'job:end') {
      state.running.delete(e.job);
      if (!e.error) state.done++;
    }
    const text = workerLine(e);
    if (text) state.lines.push({ key: state.lines.length, text });
  }
}

export const newWorkerViewState = (): ViewState => ({
  lines: [],
  running: new Map(),
  done: 0,
  idle: 'waiting for jobs',
});

/** The worker's live view on a terminal: its jobs in hand, and a line per finished one above them. */
export function inkWorkerView(): { onEvent(e: WorkerEvent): void; close(): void } {
  const state = newWorkerViewState();
  const instance = render(<WorkerView state={state} now={Date.now()} />, { exitOnCtrlC: false, maxFps: 5 });
  const paint = () => instance.rerender(<WorkerView state={{ ...state, lines: [...state.lines] }} now={Date.now()} />);
  const timer = setInterval(paint, 1000);
  timer.unref();
  return {
    onEvent(e) {
      applyWorkerEvent(state, e);
      paint();
    },
    close() {
      clearInterval(timer);
      paint();
      instance.unmount();
    },
  };
}
