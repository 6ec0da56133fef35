import { ConfigError } from '../../core/errors.ts';
import { storeRoot } from '../../index.ts';
import { inCi } from '../../ui/select-reporter.ts';
import { workerLine } from '../../ui/worker-lines.ts';
import { type CommandSpec, parseArgs } from '../args.ts';
import {
  applyWebGpuSoftware,
  FLAG_BACKEND,
  FLAG_REDIS,
  FLAG_REDIS_PASSWORD_FILE,
  FLAG_STORE,
  FLAG_WEBGPU_SOFTWARE,
  parseBackend,
  parsePositive,
  redisUrl,
} from '../common.ts';
import type { CliContext } from '../context.ts';

export const workerSpec: CommandSpec = {
  name: 'worker',
  usage: 'fedau worker --redis <url> [--concurrency <n>] [--store <dir>] [--backend ...]',
  summary: 'Take jobs of `fedau run --redis` runs from a Redis and do them: train clients, run stages.',
  positionals: 0,
  flags: [
    FLAG_REDIS,
    FLAG_REDIS_PASSWORD_FILE,
    {
      name: 'concurrency',
      arg: 'value',
      placeholder: 'n',
      description: 'jobs at a time, each in its own thread (default 1)',
    },
    { ...FLAG_STORE, description: "the worker's own store, where inputs fetched once are kept (default ./artifacts)" },
    FLAG_BACKEND,
    FLAG_WEBGPU_SOFTWARE,
    {
      name: 'reporter',
      arg: 'value',
      placeholder: 'ink|plain',
      description: 'the live view (default on a terminal) or a line per job',
    },
  ],
};

/** Runs until SIGTERM or Ctrl-C: the first finishes the jobs in hand, a second hands them back; exits 0. */
export async function workerCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { flags } = parseArgs(argv, workerSpec);
  applyWebGpuSoftware(flags['webgpu-software']);
  const url = redisUrl(flags, { warn: (text) => process.stderr.write(`${text}\n`) });
  if (!url) {
    throw new ConfigError('FEDAU_USAGE', '`fedau worker` needs a Redis to take jobs from', {
      hint: 'e.g. fedau worker --redis redis://127.0.0.1:6379 (or set FEDAU_REDIS)',
    });
  }
  const ink = (flags.reporter ?? (process.stdout.isTTY && !inCi() ? 'ink' : 'plain')) === 'ink';
  const view = ink ? (await import('../../ui/worker-view.tsx')).inkWorkerView() : undefined;
  const { startWorker } = await import('../../cluster/worker/worker.ts');
  const worker = await startWorker({
    url,
    concurrency: parsePositive(flags.concurrency, 'concurrency') ?? 1,
    storeRoot: storeRoot(flags.store as string | undefined),
    backend: parseBackend(flags.backend) ?? 'auto',
    lockMs: process.env.FEDAU_JOB_LOCK_MS ? Number(process.env.FEDAU_JOB_LOCK_MS) : undefined,
    onEvent: (e) => {
      if (view) view.onEvent(e);
      else {
        const line = workerLine(e);
        if (line) ctx.out(line);
      }
    },
  });
  await new Promise<void>((resolve) => {
    let signals = 0;
    const stop = () => {
      signals++;
      if (signals > 2) process.exit(0);
      void worker.stop(signals === 2).then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  view?.close();
  return 0;
}
