import { Box, Text } from 'ink';
import { etaMs, formatDuration, formatMetrics, type StageView } from '../run-view-state.ts';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

const GLYPH: Record<string, { glyph: string; color?: string }> = {
  pending: { glyph: '·', color: 'gray' },
  queued: { glyph: '·', color: 'gray' },
  cached: { glyph: '✔', color: 'cyan' },
  success: { glyph: '✔', color: 'green' },
  failure: { glyph: '✖', color: 'red' },
  skipped: { glyph: '↷', color: 'yellow' },
};

export function progressBar(step: number, total: number, width = 20): string {
  const filled = Math.max(0, Math.min(width, Math.round((step / Math.max(1, total)) * width)));
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** One stage: status glyph, id, kind, then what it is doing or how it ended. */
export function StageRow({
  stage,
  now,
  idWidth,
  kindWidth,
}: {
  stage: StageView;
  now: number;
  idWidth: number;
  kindWidth: number;
}) {
  const look =
    stage.status === 'running'
      ? { glyph: SPINNER[Math.floor(now / 100) % SPINNER.length], color: 'blue' }
      : GLYPH[stage.status];
  return (
    <Box flexDirection="column">
      <Box>
        {/* The columns keep their width on a narrow terminal; only the detail gives way (and is truncated). */}
        <Box flexShrink={0}>
          <Text color={look.color}>{look.glyph} </Text>
          <Text bold>{stage.id.padEnd(idWidth)}</Text>
          <Text color="gray"> {stage.kind.padEnd(kindWidth)} </Text>
        </Box>
        <Box flexShrink={1} minWidth={0}>
          <Detail stage={stage} now={now} />
        </Box>
      </Box>
      {stage.status === 'failure' && stage.error ? (
        <Box marginLeft={4} flexDirection="column">
          <Text color="red">{stage.error.message}</Text>
          {stage.error.info?.hint ? <Text color="gray">hint: {stage.error.info.hint}</Text> : null}
        </Box>
      ) : null}
    </Box>
  );
}

function Detail({ stage, now }: { stage: StageView; now: number }) {
  switch (stage.status) {
    case 'cached':
      return <Text color="cyan">cached</Text>;
    case 'success':
      return <Text color="green">done in {formatDuration(stage.durationMs ?? 0)}</Text>;
    case 'failure':
      return <Text color="red">failed after {formatDuration(stage.durationMs ?? 0)}</Text>;
    case 'skipped':
      return <Text color="yellow">skipped ({stage.because ?? 'upstream failed'})</Text>;
    case 'pending':
    case 'queued':
      return <Text color="gray">waiting</Text>;
    case 'running': {
      const p = stage.progress;
      const elapsed = formatDuration(now - (stage.startedAt ?? now));
      if (!p)
        return (
          <Text color="blue">
            running {elapsed} <Text color="gray">({stage.reason})</Text>
          </Text>
        );
      const eta = etaMs(stage, now);
      const metrics = formatMetrics(p.metrics);
      // Two lines, so that live metrics never push the bar off a narrow terminal.
      return (
        <Box flexDirection="column">
          <Text wrap="truncate">
            <Text color="blue">
              {p.label ?? (p.total !== undefined ? `step ${p.step}/${p.total}` : `step ${p.step}`)}
            </Text>
            {p.total !== undefined
              ? ` ${progressBar(p.step, p.total)} ${Math.floor((100 * p.step) / Math.max(1, p.total))}%`
              : ''}
          </Text>
          <Text wrap="truncate">
            <Text color="gray">{`${elapsed}${eta !== undefined ? ` · ETA ${formatDuration(eta)}` : ''}`}</Text>
            {metrics ? <Text color="magenta">{`  ${metrics}`}</Text> : null}
          </Text>
        </Box>
      );
    }
  }
}
