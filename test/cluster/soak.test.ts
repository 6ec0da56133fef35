import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { waitForLine } from '../helpers/cli.ts';
import { digests, fedau, localDigests, newStore, SMOKE } from '../helpers/cluster.ts';
import { redisServerPath, startFedauWorker, startRedis, type TestRedis, type TestWorker } from '../helpers/redis.ts';

const HAVE_REDIS = redisServerPath() !== undefined;
if (!HAVE_REDIS)
  console.warn('SKIPPED: the soak test needs redis-server (apt-get install redis-server), which is missing');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A matrix on two workers while faults keep coming, drawn from a seeded stream: a worker SIGKILLed (and a new one
 * started), the coordinator paused past its run lease, Redis restarted empty. Whatever the order, the run ends
 * with every digest equal to the local run's.
 */
describe.skipIf(!HAVE_REDIS)('soak: a matrix under random faults', () => {
  let redis: TestRedis;
  const workers: TestWorker[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await redis?.stop();
  });

  it('ends with the local digests of every variant', async () => {
    const spawn = async () => {
      for (let tries = 0; tries < 5; tries++) {
        try {
          workers.push(await startFedauWorker(redis.url));
          return;
        } catch {
          await sleep(1000); // Redis may be restarting: try again
        }
      }
    };
    await spawn();
    await spawn();
    // Long enough for three faults or more after round 1, on a fast host too.
    const matrix = ['--set', 'train.rounds=8', '--matrix', 'seed=0,1'];
    const run = fedau(
      ['run', SMOKE, '--reporter', 'json', '--redis', redis.url, '--store', await newStore(), ...matrix],
      {
        FEDAU_RUN_TTL_MS: '2000',
      },
    );
    let over = false;
    void run.finally(() => {
      over = true;
    });
    await waitForLine(run, (l) => l.includes('"label":"round 1/8 done"'));
    const rng = new Rng(7, 'soak');
    const faults: string[] = [];
    for (let i = 0; i < 6 && !over; i++) {
      await sleep(2000 + rng.int(3000));
      if (over) break;
      const fault = ['kill a worker', 'pause the coordinator', 'restart Redis'][rng.int(3)];
      faults.push(fault);
      if (fault === 'kill a worker') {
        const live = workers.filter((w) => w.child.exitCode === null);
        if (live.length) live[rng.int(live.length)].child.kill('SIGKILL');
        await spawn();
      } else if (fault === 'pause the coordinator') {
        run.kill('SIGSTOP');
        await sleep(3000);
        run.kill('SIGCONT');
      } else {
        await redis.stop();
        await sleep(500);
        await redis.start();
      }
    }
    const done = await run;
    const story = `faults: ${faults.join(', ')}\n${done.stdout.slice(-3000)}\n${done.stderr.slice(-2000)}`;
    expect(done.exitCode, story).toBe(0);
    expect(faults.length, story).toBeGreaterThanOrEqual(3);
    expect(digests(done.stdout)).toEqual(await localDigests(matrix));
  }, 420_000);
});
