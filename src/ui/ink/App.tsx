import { Box, Static, Text } from 'ink';
import { formatDuration, summarizeCounts, type ViewState } from '../run-view-state.ts';
import { StageRow } from './StageRow.tsx';

/** The run view: warnings scroll above (Static), every stage in pipeline order below, a summary at the end. */
export function App({ state, now }: { state: ViewState; now: number }) {
  const idWidth = Math.max(4, ...state.stages.map((s) => s.id.length));
  const kindWidth = Math.max(4, ...state.stages.map((s) => s.kind.length));
  const logs = state.logs.map((log, i) => ({ ...log, key: i }));
  return (
    <Box flexDirection="column">
      <Static items={logs}>
        {(log) => (
          <Text key={log.key} color={log.level === 'warn' ? 'yellow' : 'gray'}>
            {log.level === 'warn' ? '⚠ ' : '  '}
            {log.stageId ? `[${log.stageId}] ` : ''}
            {log.text}
          </Text>
        )}
      </Static>
      <Text>
        <Text bold>fedau</Text>
        {state.pipeline ? ` · ${state.pipeline}` : ''}
        {state.runtime ? <Text color="gray">{` · ${state.runtime}`}</Text> : null}
      </Text>
      {state.stages.map((stage) => (
        <StageRow key={stage.id} stage={stage} now={now} idWidth={idWidth} kindWidth={kindWidth} />
      ))}
      {state.end ? (
        <Text color={state.end.status === 'success' ? 'green' : state.end.status === 'failure' ? 'red' : 'yellow'}>
          {state.end.status === 'success' ? '✔' : state.end.status === 'failure' ? '✖' : '■'} {state.end.status}:{' '}
          {summarizeCounts(state.end.counts)} in {formatDuration(state.end.durationMs)}
        </Text>
      ) : null}
    </Box>
  );
}
