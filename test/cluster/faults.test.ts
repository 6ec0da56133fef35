import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verificationDraw } from '../../src/cluster/coordinator/verify.ts';
import { parseEvents, ROOT, waitForLine } from '../helpers/cli.ts';
import { digests, fedau, localDigests, localRun, newStore, SMOKE, sets } from '../helpers/cluster.ts';
import { redisServerPath, startFedauWorker, startRedis, type TestRedis, type TestWorker } from '../helpers/redis.ts';
import { tsxLoaderUrl } from '../helpers/tsx-loader.ts';

const HAVE_REDIS = redisServerPath() !== undefined;
if (!HAVE_REDIS) {
  console.warn('SKIPPED: the fault-injection tests need redis-server (apt-get install redis-server), which is missing');
}

/**
 * Faults a lab meets, injected against real processes: a real redis-server on a free port, real `fedau worker`s, a
 * hostile BullMQ peer. Each test asserts the one acceptable outcome: the local run's digests, or a clear failure;
 * never a wrong digest with exit 0, never a hang.
 */
const cli = (port: number, ...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args]).toString();
/** What the run's events say on the stages' and the run's log lines. */
const logs = (stdout: string) =>
  parseEvents(stdout)
    .filter((e) => e.type === 'stage:log')
    .map((e) => e.text as string);
/** Three rounds: enough to inject a fault in the middle of a training. */
const R3 = sets(['train.rounds=3']);
/**
 * Three rounds of 8 local epochs: a round long enough (about half a second on a fast host) for a fault to land
 * while its clients are in flight, and for their progress to pass the live view's 100 ms cap.
 */
const SLOW3 = sets(['train.rounds=3', 'train.localEpochs=8']);
const hostilePeer = (url: string, mode: string) =>
  execa('node', ['--import', tsxLoaderUrl(), join(ROOT, 'test/fixtures/hostile-worker.ts'), url, mode], {
    reject: false,
  });

/** A private Redis for the tests of a describe block, emptied after each, with a coordinator aimed at it. */
function privateRedis() {
  const ctx = {
    redis: undefined as unknown as TestRedis,
    coordinator: (store: string, args: string[] = [], env: Record<string, string> = {}) =>
      fedau(['run', SMOKE, '--reporter', 'json', '--redis', ctx.redis.url, '--store', store, ...args], env),
  };
  beforeAll(async () => {
    ctx.redis = await startRedis();
  }, 30_000);
  afterEach(() => void cli(ctx.redis.port, 'FLUSHALL'));
  afterAll(async () => {
    await ctx.redis?.stop();
  });
  return ctx;
}

/** Faults with two honest `fedau worker`s that live through the whole block (they reconnect after each fault). */
describe.skipIf(!HAVE_REDIS)('faults on a cluster', () => {
  const t = privateRedis();
  const workers: TestWorker[] = [];
  const coordinator = (...args: Parameters<typeof t.coordinator>) => t.coordinator(...args);
  let redis: TestRedis;
  beforeAll(async () => {
    redis = t.redis;
    workers.push(await startFedauWorker(redis.url), await startFedauWorker(redis.url));
  }, 60_000);
  afterAll(() => {
    for (const w of workers) w.child.kill('SIGKILL');
  });

  it("a worker trains every job with that job's own optimiser, whatever its threads trained before", async () => {
    const store = await newStore();
    // The workers' trainer threads first train with the default momentum, then get jobs with momentum 0.
    expect((await coordinator(store, sets(['train.rounds=1']))).exitCode).toBe(0);
    const args = sets(['train.rounds=3', 'train.momentum=0']);
    const second = await coordinator(store, args);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(digests(second.stdout)).toEqual(await localDigests(args));
  }, 180_000);

  it('partial participation on the cluster gives the local bytes', async () => {
    const half = sets(['train.clientFraction=0.5', 'train.rounds=6']);
    const run = await coordinator(await newStore(), half);
    expect(run.exitCode, run.stdout.slice(-2000)).toBe(0);
    expect(digests(run.stdout)).toEqual(await localDigests(half));
  }, 180_000);

  it('a hostile peer answering wrong is named and banned, its answers computed here: the local bytes', async () => {
    const hostile = hostilePeer(t.redis.url, 'mixed');
    try {
      await waitForLine(hostile, (l) => l.includes('[hostile] ready'));
      const store = await newStore();
      const run = await coordinator(store, [...R3, '--verify', '0.5']);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(digests(run.stdout)).toEqual(await localDigests(R3));
      expect(logs(run.stdout).some((t) => t.startsWith('worker hostile-peer is banned from this run: its'))).toBe(true);
      // The run record says who computed what: the honest worker's jobs, the peer's ban, the jobs redone here.
      const trainKey = parseEvents(run.stdout).find((e) => e.type === 'stage:start' && e.stageId === 'train').key;
      const { readFile } = await import('node:fs/promises');
      const record = JSON.parse(
        await readFile(join(store, 'records', trainKey.slice(0, 2), `${trainKey}.json`), 'utf8'),
      );
      expect(record.provenance.banned['hostile-peer']).toMatch(/malformed|differs/);
      expect(record.provenance.local).toBeGreaterThan(0);
      const honest = workers.map((w) => w.id());
      const answered = record.provenance.workers.filter((w: { id: string }) => honest.includes(w.id));
      expect(answered.length).toBeGreaterThan(0);
      for (const w of answered)
        expect(w).toMatchObject({ backend: 'wasm', fedau: expect.any(String), jobs: expect.any(Number) });
    } finally {
      hostile.kill('SIGKILL');
      await hostile;
    }
  }, 240_000);

  for (const [fault, inject] of [
    [
      'restarted empty',
      async () => {
        await redis.stop();
        await redis.start();
      },
    ],
    ['flushed (FLUSHALL)', async () => void cli(redis.port, 'FLUSHALL')],
  ] as const) {
    it(`Redis ${fault} in the middle of training: lost jobs are submitted again, the local bytes`, async () => {
      const run = coordinator(await newStore(), SLOW3);
      // While clients of round 2 are in flight: what Redis loses is then their jobs and blobs.
      await waitForLine(run, (l) => l.includes('"label":"round 2/3 · client 1/4'));
      await inject();
      const done = await run;
      expect(done.exitCode, done.stdout.slice(-2000)).toBe(0);
      expect(digests(done.stdout)).toEqual(await localDigests(SLOW3));
      expect(logs(done.stdout).some((t) => /submitting it again/.test(t))).toBe(true);
    }, 240_000);
  }

  it("a matrix, and a second coordinator at once, on one Redis: no run deletes another's blobs", async () => {
    const matrix = [...R3, '--matrix', 'train.lr=0.01,0.02'];
    const [a, b] = await Promise.all([coordinator(await newStore(), matrix), coordinator(await newStore(), R3)]);
    expect(a.exitCode, a.stdout.slice(-2000)).toBe(0);
    expect(b.exitCode, b.stdout.slice(-2000)).toBe(0);
    expect(digests(a.stdout)).toEqual(await localDigests(matrix));
    expect(digests(b.stdout)).toEqual(await localDigests(R3));
    // Both runs are over: every blob they moved was released, and Redis keeps none of them.
    expect(cli(redis.port, '--scan', '--pattern', 'fedau:blob*').trim()).toBe('');
  }, 300_000);

  it('the coordinator paused past its run lease: its jobs, dropped, are submitted again: the local bytes', async () => {
    const run = coordinator(await newStore(), SLOW3, { FEDAU_RUN_TTL_MS: '2000' });
    await waitForLine(run, (l) => l.includes('"label":"round 2/3 · client 1/4'));
    run.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 5000));
    run.kill('SIGCONT');
    const done = await run;
    expect(done.exitCode, done.stdout.slice(-2000)).toBe(0);
    expect(digests(done.stdout)).toEqual(await localDigests(SLOW3));
  }, 240_000);

  it('fedau gc --redis removes what a killed coordinator left behind', async () => {
    const run = coordinator(await newStore(), SLOW3);
    await waitForLine(run, (l) => l.includes('"label":"round 1/3 done"'));
    run.kill('SIGKILL');
    await run;
    expect(cli(redis.port, '--scan', '--pattern', 'fedau:blob:*').trim()).not.toBe('');
    // Its run is over once its lease expires (15 s), or at once when nothing renews it: gc needs it gone.
    cli(redis.port, 'DEL', ...cli(redis.port, '--scan', '--pattern', 'fedau:run:*').trim().split('\n').filter(Boolean));
    const gc = await fedau(['gc', '--redis', redis.url]);
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(gc.stdout).toMatch(/deleted [1-9]\d* blobs/);
    expect(cli(redis.port, '--scan', '--pattern', 'fedau:blob*').trim()).toBe('');
  }, 120_000);
});

/** Faults where who listens on the queues is the point: no honest worker, or workers of their own. */
describe.skipIf(!HAVE_REDIS)('faults on a cluster, with the peers each test starts', () => {
  const t = privateRedis();
  const coordinator = (...args: Parameters<typeof t.coordinator>) => t.coordinator(...args);
  const workers: TestWorker[] = [];
  afterEach(() => {
    for (const w of workers.splice(0)) w.child.kill('SIGKILL');
  });

  it('a peer caught wrong after unchecked rounds: the training restarts without it, the local bytes', async () => {
    // Alone on the queue, the peer answers every job. The fraction is chosen so that no job of round 1 is
    // verified and one of a later round is: its round-1 answers were used, and only a restart can undo them. The
    // draws are fixed by the stage key; evalEvery changes the key, not the federation, until a key fits.
    let found: { args: string[]; fraction: number; round: number } | undefined;
    for (const every of [2, 1, 3, 4]) {
      const args = sets([`train.evalEvery=${every}`]);
      const { keys } = await localRun(args);
      const least = [0, 1, 2, 3].map((r) =>
        Math.min(...[0, 1, 2, 3].map((c) => verificationDraw(`${keys.train}/r${r}/c${c}`))),
      );
      const round = least.findIndex((d, r) => r > 0 && d < Math.min(...least.slice(0, r)));
      if (round > 0) {
        found = { args, fraction: (least[round] + Math.min(...least.slice(0, round))) / 2, round };
        break;
      }
    }
    expect(found).toBeDefined();
    const { args, fraction, round } = found!;
    const hostile = hostilePeer(t.redis.url, 'zeros');
    try {
      await waitForLine(hostile, (l) => l.includes('[hostile] ready'));
      const run = await coordinator(await newStore(), [...args, '--verify', String(fraction)]);
      expect(run.exitCode, run.stdout.slice(-2000)).toBe(0);
      expect(digests(run.stdout)).toEqual(await localDigests(args));
      const restart = new RegExp(
        `^worker hostile-peer answered wrong \\(its update for client \\d of train \\(round ${round + 1}\\) differs ` +
          "from this process's computation\\) and had answered since round 1: training again from round 1 without it$",
      );
      expect(logs(run.stdout).some((t) => restart.test(t))).toBe(true);
    } finally {
      hostile.kill('SIGKILL');
      await hostile;
    }
  }, 240_000);

  it('a stage taken unchecked from a peer caught later: it and all after it leave the cache, exit 1', async () => {
    const { keys } = await localRun();
    // The partition stage is not verified at this fraction (its draw is above it); client jobs are, now and then.
    const fraction = verificationDraw(keys.split) * 0.95;
    const hostile = hostilePeer(t.redis.url, 'stage-wrong');
    const store = await newStore();
    try {
      await waitForLine(hostile, (l) => l.includes('[hostile] ready'));
      const run = await coordinator(store, ['--verify', String(fraction)]);
      expect(run.exitCode, run.stdout.slice(-2000)).toBe(1);
      expect(run.stdout).toContain(
        "stage split: the result of worker hostile-peer differs from this process's computation",
      );
      expect(run.stdout).toContain(
        "stage train was computed from stage split's wrong result and was removed from the cache",
      );
    } finally {
      hostile.kill('SIGKILL');
      await hostile;
    }
    // Nothing wrong stayed cached: with an honest worker, the rerun computes everything after the data again.
    workers.push(await startFedauWorker(t.redis.url));
    const rerun = await coordinator(store);
    expect(rerun.exitCode, rerun.stdout.slice(-2000)).toBe(0);
    expect(digests(rerun.stdout)).toEqual(await localDigests());
    expect(
      parseEvents(rerun.stdout)
        .filter((e) => e.type === 'stage:cached')
        .map((e) => e.stageId),
    ).toEqual(['data']);
  }, 240_000);

  it('jobs no worker listens for fail in bounded time with a clear error; nothing is cached for them', async () => {
    const store = await newStore();
    const t0 = Date.now();
    const run = await coordinator(store, [], { FEDAU_NO_WORKER_MS: '3000' });
    expect(run.exitCode).toBe(1);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(run.stdout).toContain("no fedau worker able to take this run's jobs has been alive for 3 s");
    const ended = parseEvents(run.stdout).filter((e) => e.type === 'stage:end' && e.status === 'success');
    expect(ended.map((e) => e.stageId)).toEqual(['data']);
  }, 60_000);

  it('a remote stage that computes longer than the job lock keeps its lock, and runs once', async () => {
    const env = { FEDAU_JOB_LOCK_MS: '300' };
    workers.push(await startFedauWorker(t.redis.url, { env }), await startFedauWorker(t.redis.url, { env }));
    const args = sets(['data.synthetic.test=8000', 'eval.batchSize=8000', 'train.rounds=1']);
    const run = await coordinator(await newStore(), args);
    expect(run.exitCode, run.stdout.slice(-2000)).toBe(0);
    expect(digests(run.stdout)).toEqual(await localDigests(args));
    const starts = workers.map((w) => w.output().split('stage eval (evaluate): started').length - 1);
    expect(starts.reduce((a, b) => a + b, 0)).toBe(1);
  }, 240_000);

  it('a damaged blob in Redis is deleted where it is read and sent again: the local bytes', async () => {
    const dataset = (await localDigests(R3))['data.dataset'];
    // A copy of the dataset with other bytes, under its digest, as a bit flip in Redis would leave it.
    const size = 16;
    cli(t.redis.port, 'SET', `fedau:blob:${dataset}`, JSON.stringify({ size, chunks: 1 }));
    cli(t.redis.port, 'SET', `fedau:blob:${dataset}:0`, 'x'.repeat(size));
    cli(t.redis.port, 'SADD', `fedau:blobrefs:${dataset}`, 'run:19700101T000000Z-dead00');
    // Workers with empty stores: they must read the dataset from Redis.
    workers.push(await startFedauWorker(t.redis.url), await startFedauWorker(t.redis.url));
    const run = await coordinator(await newStore(), R3);
    expect(run.exitCode, run.stdout.slice(-2000)).toBe(0);
    expect(digests(run.stdout)).toEqual(await localDigests(R3));
    const said = workers.map((w) => w.output()).join('\n');
    expect(said).toContain(`blob ${dataset.slice(0, 12)} arrived corrupt from Redis`);
    expect(logs(run.stdout).some((l) => l.includes(`could not read its inputs (blob ${dataset.slice(0, 12)}`))).toBe(
      true,
    );
  }, 240_000);
});

describe.skipIf(!HAVE_REDIS)('a worker and its Redis', () => {
  it('a worker whose Redis is gone stops at the first SIGTERM, with exit 0', async () => {
    const redis = await startRedis();
    const worker = await startFedauWorker(redis.url);
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    worker.child.kill('SIGTERM');
    const done = await worker.child;
    expect(done.exitCode, worker.output()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(worker.output()).toContain('stopped');
  }, 60_000);
});
