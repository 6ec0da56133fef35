import { collectGarbage } from '../../engine/gc.ts';
import { describeOwner } from '../../engine/locks.ts';
import { ArtifactStore } from '../../engine/store.ts';
import { storeRoot } from '../../index.ts';
import { type CommandSpec, parseArgs } from '../args.ts';
import { FLAG_STORE, formatBytes } from '../common.ts';
import type { CliContext } from '../context.ts';

export const gcSpec: CommandSpec = {
  name: 'gc',
  usage: 'fedau gc [--dry-run] [--all-checkpoints] [--store <dir>]',
  summary: 'Delete what no run record references (orphan blobs, broken records, finished checkpoints, temp files).',
  positionals: 0,
  flags: [
    { name: 'dry-run', arg: 'boolean', description: 'only print what would be deleted' },
    {
      name: 'all-checkpoints',
      arg: 'boolean',
      description: 'also delete checkpoints of unfinished trainings (they let a killed run resume)',
    },
    FLAG_STORE,
  ],
};

export async function gcCommand(argv: string[], { out }: CliContext): Promise<number> {
  const { flags } = parseArgs(argv, gcSpec);
  const report = await collectGarbage(new ArtifactStore(storeRoot(flags.store as string | undefined)), {
    dryRun: flags['dry-run'] === true,
    allCheckpoints: flags['all-checkpoints'] === true,
  });
  const verb = report.dryRun ? 'would delete' : 'deleted';
  for (const l of report.staleLocks) {
    out(`removed the stale lock ${l.name}${l.owner ? ` of ${describeOwner(l.owner)}` : ''}: ${l.why}`);
  }
  if (report.kind === 'worker') out("a worker's cache: its blobs are fetched again from Redis when a job needs them");
  for (const o of report.objects) out(`${verb} blob ${o.digest.slice(0, 16)}  ${formatBytes(o.size)}`);
  for (const k of report.brokenRecords) out(`${verb} broken run record ${k.slice(0, 16)}`);
  for (const c of report.checkpoints) out(`${verb} checkpoint ${c.key.slice(0, 16)}  ${formatBytes(c.size)}`);
  for (const t of report.tmp) out(`${verb} temp file ${t.name}  ${formatBytes(t.size)}`);
  out(
    `${verb} ${report.objects.length} blobs, ${report.brokenRecords.length} broken records, ` +
      `${report.checkpoints.length} checkpoints, ${report.tmp.length} temp files: ${formatBytes(report.bytes)}`,
  );
  if (report.keptCheckpoints.length) {
    out(
      `kept ${report.keptCheckpoints.length} checkpoints of unfinished trainings ` +
        `(${formatBytes(report.keptCheckpoints.reduce((s, c) => s + c.size, 0))}); --all-checkpoints deletes them`,
    );
  }
  return 0;
}
