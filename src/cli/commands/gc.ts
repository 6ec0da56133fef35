import { collectGarbage } from '../../engine/gc.ts';
import { describeOwner } from '../../engine/locks.ts';
import { ArtifactStore } from '../../engine/store.ts';
import { storeRoot } from '../../index.ts';
import { type CommandSpec, type ParsedFlags, parseArgs } from '../args.ts';
import { FLAG_REDIS, FLAG_REDIS_PASSWORD_FILE, FLAG_STORE, formatBytes, redisUrl } from '../common.ts';
import type { CliContext } from '../context.ts';

export const gcSpec: CommandSpec = {
  name: 'gc',
  usage: 'fedau gc [--dry-run] [--all-checkpoints] [--store <dir>] | fedau gc --redis <url> [--dry-run]',
  summary:
    'Delete what no run record references (orphan blobs, broken records, finished checkpoints, temp files); ' +
    'with --redis, what no live run needs in a Redis.',
  positionals: 0,
  flags: [
    { name: 'dry-run', arg: 'boolean', description: 'only print what would be deleted' },
    {
      name: 'all-checkpoints',
      arg: 'boolean',
      description: 'also delete checkpoints of unfinished trainings (they let a killed run resume)',
    },
    FLAG_STORE,
    { ...FLAG_REDIS, description: 'clean this Redis instead of a store: blobs, keys and jobs of runs that are over' },
    FLAG_REDIS_PASSWORD_FILE,
  ],
};

export async function gcCommand(argv: string[], { out }: CliContext): Promise<number> {
  const { flags } = parseArgs(argv, gcSpec);
  // Only an explicit --redis cleans a Redis: FEDAU_REDIS alone keeps `fedau gc` about the local store.
  if (flags.redis !== undefined) return redisGc(flags, out);
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

async function redisGc(flags: ParsedFlags, out: (line: string) => void): Promise<number> {
  const url = redisUrl(flags, { warn: (text) => process.stderr.write(`${text}\n`) })!;
  const { connectRedis, maskUrl } = await import('../../cluster/redis.ts');
  const { collectRedisGarbage } = await import('../../cluster/redis-gc.ts');
  const redis = await connectRedis(url, { name: 'fedau-gc' });
  try {
    const r = await collectRedisGarbage(redis, url, flags['dry-run'] === true);
    const verb = r.dryRun ? 'would delete' : 'deleted';
    out(
      `${maskUrl(url)}: ${verb} ${r.blobs} blobs (${formatBytes(r.bytes)}) no live run holds, ` +
        `${r.holders} holds of runs that are over, ${r.runKeys} keys of such runs, ${r.jobs} finished jobs`,
    );
    return 0;
  } finally {
    redis.disconnect();
  }
}
