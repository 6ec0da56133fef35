import { connectRedis, maskUrl } from '../../cluster/redis.ts';
import { listWorkers } from '../../cluster/registry.ts';
import { ConfigError } from '../../core/errors.ts';
import { type CommandSpec, parseArgs } from '../args.ts';
import { FLAG_REDIS, FLAG_REDIS_PASSWORD_FILE, redisUrl } from '../common.ts';
import type { CliContext } from '../context.ts';

export const workersSpec: CommandSpec = {
  name: 'workers',
  usage: 'fedau workers --redis <url> [--json]',
  summary: 'List the workers connected to a Redis: backend, versions, and what each is doing.',
  positionals: 0,
  flags: [FLAG_REDIS, FLAG_REDIS_PASSWORD_FILE, { name: 'json', arg: 'boolean', description: 'print JSON' }],
};

export async function workersCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { flags } = parseArgs(argv, workersSpec);
  const url = redisUrl(flags, { warn: (text) => process.stderr.write(`${text}\n`) });
  if (!url) throw new ConfigError('FEDAU_USAGE', '`fedau workers` needs --redis <url>', { hint: 'or set FEDAU_REDIS' });
  const redis = await connectRedis(url, { name: 'fedau-workers' });
  try {
    const workers = await listWorkers(redis);
    if (flags.json) {
      ctx.out(JSON.stringify(workers, null, 2));
      return 0;
    }
    ctx.out(`${workers.length} worker${workers.length === 1 ? '' : 's'} connected to ${maskUrl(url)}`);
    for (const w of workers) {
      const doing = w.jobs.length ? w.jobs.join('; ') : 'idle';
      ctx.out(
        `  ${w.id.padEnd(24)}  backend ${w.facts.backend}, fedau ${w.facts.fedau}, tfjs ${w.facts.tfjs}, ` +
          `${w.concurrency} at a time, ${w.done} done  ·  ${doing}`,
      );
    }
    return 0;
  } finally {
    redis.disconnect();
  }
}
