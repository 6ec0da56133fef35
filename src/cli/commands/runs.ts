import { listRunLogs } from '../../engine/run-log.ts';
import { ArtifactStore } from '../../engine/store.ts';
import { storeRoot } from '../../index.ts';
import { formatDuration, summarizeCounts } from '../../ui/run-view-state.ts';
import { type CommandSpec, parseArgs } from '../args.ts';
import { FLAG_STORE } from '../common.ts';
import type { CliContext } from '../context.ts';

export const runsSpec: CommandSpec = {
  name: 'runs',
  usage: 'fedau runs [--store <dir>] [--limit <n>] [--json]',
  summary: 'List past runs of the store, newest last.',
  positionals: 0,
  flags: [
    FLAG_STORE,
    { name: 'limit', arg: 'value', placeholder: 'n', description: 'show the last n runs (default 20)' },
    { name: 'json', arg: 'boolean', description: 'print the run logs as JSON' },
  ],
};

export async function runsCommand(argv: string[], { out }: CliContext): Promise<number> {
  const { flags } = parseArgs(argv, runsSpec);
  const limit = Math.max(1, Number(flags.limit ?? 20) || 20);
  const logs = (await listRunLogs(new ArtifactStore(storeRoot(flags.store as string | undefined)))).slice(-limit);
  if (flags.json) {
    out(JSON.stringify(logs, null, 2));
    return 0;
  }
  if (!logs.length) {
    out('no runs in this store yet');
    return 0;
  }
  for (const log of logs) {
    const status = log.killed ? 'killed' : log.status;
    const took = log.endedAt ? formatDuration(Date.parse(log.endedAt) - Date.parse(log.startedAt)) : '';
    const counts = log.counts
      ? summarizeCounts(log.counts)
      : `${Object.values(log.stages).filter((s) => s.status === 'success' || s.status === 'cached').length}/` +
        `${Object.keys(log.stages).length} stages done`;
    out(
      `${log.runId}  ${log.pipeline.padEnd(20)}  ${status.padEnd(11)}  ${counts}` +
        `${took ? `  in ${took}` : ''}${log.file ? `  (${log.file})` : ''}`,
    );
  }
  return 0;
}
