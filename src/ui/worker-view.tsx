import { Box, render, Static, Text } from 'ink';
import type { WorkerEvent } from '../cluster/worker-events.ts';
import { workerLine } from './worker-lines.ts';

interface ViewState {
  header?: string;
  lines: { key: number; text: string }[];
  running: Map<string, { what: string; since: number }>;
  done: number;
}

function WorkerView({ state, now }: { state: ViewState; now: number }) {
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
        {state.running.size ? '' : 'waiting for jobs · '}
        {state.done} done
      </Text>
    </Box>
  );
}

/** The worker's live view on a terminal: its jobs in hand, and a line per finished one above them. */
export function inkWorkerView(): { onEvent(e: WorkerEvent): void; close(): void } {
  const state: ViewState = { lines: [], running: new Map(), done: 0 };
  const instance = render(<WorkerView state={state} now={Date.now()} />, { exitOnCtrlC: false, maxFps: 5 });
  const paint = () => instance.rerender(<WorkerView state={{ ...state, lines: [...state.lines] }} now={Date.now()} />);
  const timer = setInterval(paint, 1000);
  timer.unref();
  return {
    onEvent(e) {
      if (e.type === 'ready') state.header = workerLine(e);
      else if (e.type === 'job:start') state.running.set(e.job, { what: e.what, since: Date.now() });
      else {
        if (e.type === 'job:end') {
          state.running.delete(e.job);
          if (!e.error) state.done++;
        }
        const text = workerLine(e);
        if (text) state.lines.push({ key: state.lines.length, text });
      }
      paint();
    },
    close() {
      clearInterval(timer);
      paint();
      instance.unmount();
    },
  };
}
