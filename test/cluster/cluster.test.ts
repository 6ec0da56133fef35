import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, parseEvents, ROOT, waitForLine } from '../helpers/cli.ts';
import { redisServerPath, startFedauWorker, startRedis, type TestRedis, type TestWorker } from '../helpers/redis.ts';
import { tempDir } from '../helpers/run-inline.ts';

const SMOKE = join(ROOT, 'pipelines/smoke.yaml');
const HAVE_REDIS = redisServerPath() !== undefined;
if (!HAVE_REDIS) {
  // Visible in the test output: these tests need a real Redis, and .ci/run installs one.
  console.warn('SKIPPED: the cluster tests need redis-server (apt-get install redis-server), which is not installed');
}

/** Every output digest of a run, from its json events, by stage and output (the report, with timings, aside). */
function digests(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of parseEvents(stdout)) {
    if ((e.type === 'stage:end' && e.status === 'success') || e.type === 'stage:cached') {
      for (const [name, ref] of Object.entries(e.outputs as Record<string, { digest: string }>)) {
        if (name !== 'report') out[`${e.stageId}.${name}`] = ref.digest;
      }
    }
  }
  return out;
}

function fedau(args: string[], env: Record<string, string> = {}) {
  return execa('node', [BIN, ...args], { env: { CI: '1', ...env }, reject: false });
}

describe.skipIf(!HAVE_REDIS)('a cluster: BullMQ on a real Redis, fedau workers in their own processes', () => {
  let redis: TestRedis;
  const workers: TestWorker[] = [];
  const local: Record<string, Record<string, string>> = {};
  const reference = async (sets: string[]) => {
    const key = sets.join(' ');
    if (!local[key]) {
      const store = join(await tempDir(), 'store');
      const r = await fedau([
        'run',
        SMOKE,
        '--reporter',
        'json',
        '--store',
        store,
        ...sets.flatMap((s) => ['--set', s]),
      ]);
      expect(r.exitCode, r.stderr).toBe(0);
      local[key] = digests(r.stdout);
    }
    return local[key];
  };
  const coordinator = (store: string, sets: string[] = [], env: Record<string, string> = {}) => {
    const args = ['run', SMOKE, '--reporter', 'json', '--redis', redis.url, '--store', store];
    return fedau([...args, ...sets.flatMap((s) => ['--set', s])], env);
  };
  const newStore = async () => join(await tempDir(), 'store');

  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);
  afterEach(async () => {
    for (const w of workers.splice(0)) w.child.kill('SIGKILL');
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('smoke.yaml on two workers gives the same artifact digests as a local run', async () => {
    workers.push(await startFedauWorker(redis.url), await startFedauWorker(redis.url));
    const run = await coordinator(await newStore());
    expect(run.exitCode, run.stderr).toBe(0);
    const remote = digests(run.stdout);
    expect(Object.keys(remote)).toEqual(expect.arrayContaining(['train.federation', 'retrain.model', 'eval.metrics']));
    expect(remote).toEqual(await reference([]));
    // Both workers took jobs: client updates and whole stages.
    for (const w of workers) expect(w.output()).toMatch(/client \d of (train|retrain) \(round \d\): done/);
    expect(workers.map((w) => w.output()).join('\n')).toMatch(/stage eval \(evaluate\): done/);
    const listed = await fedau(['workers', '--redis', redis.url]);
    expect(listed.stdout).toContain('2 workers connected');
    expect(listed.stdout).toMatch(/backend wasm, fedau \d+\.\d+\.\d+, tfjs 4\.22\.0/);
  }, 180_000);

  it('a worker SIGKILLed in the middle of a job: the job is retried on the other, and no byte changes', async () => {
    const sets = ['train.rounds=4', 'data.synthetic.train=2400'];
    const [a, b] = [await startFedauWorker(redis.url), await startFedauWorker(redis.url)];
    workers.push(a, b);
    const run = coordinator(await newStore(), sets);
    // Kill `a` as soon as it has started a client of round 2.
    const started = await new Promise<string>((resolve) => {
      const timer = setInterval(() => {
        const m = /\[worker\] (client \d of train \(round 2\)): started/.exec(a.output());
        if (m) {
          clearInterval(timer);
          a.child.kill('SIGKILL');
          resolve(m[1]);
        }
      }, 20);
    });
    const done = await run;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(a.output()).not.toContain(`${started}: done`);
    expect(b.output()).toContain(`${started}: done`);
    expect(digests(done.stdout)).toEqual(await reference(sets));
  }, 240_000);

  it('a coordinator killed mid-training: the rerun resumes from its last finished round, same result', async () => {
    const sets = ['train.rounds=4'];
    workers.push(await startFedauWorker(redis.url), await startFedauWorker(redis.url));
    const store = join(await tempDir(), 'store');
    const first = coordinator(store, sets);
    await waitForLine(first, (line) => line.includes('"label":"round 2/4 done"'));
    first.kill('SIGKILL');
    await first;
    const rerun = await coordinator(store, sets);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    const resumed = parseEvents(rerun.stdout).find(
      (e) => e.type === 'stage:log' && /resuming from the checkpoint/.test(e.text),
    );
    expect(Number(/after round (\d+)/.exec(resumed.text)![1])).toBeGreaterThanOrEqual(2);
    expect(digests(rerun.stdout)).toEqual(await reference(sets));
  }, 240_000);

  it('a worker whose backend differs refuses the jobs, and the run says which worker and why', async () => {
    const cpu = await startFedauWorker(redis.url, { backend: 'cpu' });
    workers.push(cpu);
    const run = await coordinator(await newStore());
    expect(run.exitCode).toBe(1);
    const text = `${run.stdout}\n${run.stderr}`;
    expect(text).toContain(
      `no connected worker can run this run's jobs: worker ${cpu.id()}: its backend cpu (the coordinator's is wasm)`,
    );
    expect(cpu.output()).toMatch(/refused stage split \(partition\): backend cpu \(the coordinator's is wasm\)/);
  }, 120_000);

  it('Redis lost in the middle of a run: the stage fails with a clear error, and the rerun resumes', async () => {
    workers.push(await startFedauWorker(redis.url), await startFedauWorker(redis.url));
    const store = join(await tempDir(), 'store');
    const sets = ['train.rounds=4'];
    const env = { FEDAU_REDIS_LOST_MS: '3000' };
    const first = coordinator(store, sets, env);
    await waitForLine(first, (line) => line.includes('"label":"round 2/4 done"'));
    const t0 = Date.now();
    await redis.stop();
    const failed = await first;
    expect(failed.exitCode, `${failed.stderr}\n${failed.stdout.slice(-3000)}`).toBe(1);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(failed.stdout).toContain(`lost the connection to Redis at ${redis.url} in the middle of the run`);
    await redis.start();
    const rerun = await coordinator(store, sets, env);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(
      parseEvents(rerun.stdout).some(
        (e) => e.type === 'stage:log' && /resuming from the checkpoint after round [2-4]/.test(e.text),
      ),
    ).toBe(true);
    expect(digests(rerun.stdout)).toEqual(await reference(sets));
  }, 240_000);
});

describe.skipIf(!HAVE_REDIS)('cluster connections', () => {
  it('an unreachable Redis stops the run within seconds with exit 2, the password masked, and a hint', async () => {
    const t0 = Date.now();
    const r = await fedau([
      'run',
      SMOKE,
      '--redis',
      'redis://:topsecret@127.0.0.1:1',
      '--store',
      join(await tempDir(), 's'),
    ]);
    expect(r.exitCode).toBe(2);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.stderr).toContain('cannot reach Redis at redis://:***@127.0.0.1:1');
    expect(r.stderr).toContain('hint: start it');
    expect(`${r.stdout}${r.stderr}`).not.toContain('topsecret');
  }, 30_000);

  it('a base64 password from a file or the URL works and is printed nowhere; a bad db is exit 2', async () => {
    const password = 'q/Z+8@x=/==';
    const server = await startRedis({ password });
    try {
      const dir = await tempDir();
      await writeFile(join(dir, 'pw'), `${password}\n`);
      const plain = `redis://127.0.0.1:${server.port}`;
      const fromFile = await fedau(['workers', '--redis', plain, '--redis-password-file', join(dir, 'pw')]);
      expect(fromFile.exitCode, fromFile.stderr).toBe(0);
      expect(fromFile.stdout).toContain(`0 workers connected to redis://:***@127.0.0.1:${server.port}`);
      const inUrl = await fedau(['workers', '--redis', `redis://:${password}@127.0.0.1:${server.port}`]);
      expect(inUrl.exitCode, inUrl.stderr).toBe(0);
      expect(inUrl.stderr).toContain('the password in --redis is visible to other users of this machine (ps)');
      const noDb = await fedau(['workers', '--redis', `${plain}/99`, '--redis-password-file', join(dir, 'pw')]);
      expect(noDb.exitCode).toBe(2);
      expect(noDb.stderr).toContain(`Redis at redis://:***@127.0.0.1:${server.port}/99 has no database 99`);
      const badDb = await fedau(['workers', '--redis', `${plain}/abc`]);
      expect(badDb.exitCode).toBe(2);
      expect(badDb.stderr).toContain('the database "abc" is not a number');
      expect(badDb.stderr).not.toMatch(/\n\s+at /);
      for (const r of [fromFile, inUrl, noDb, badDb]) expect(`${r.stdout}${r.stderr}`).not.toContain('Z+8');
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('TLS (rediss://) with a password: the run works, and the password is printed nowhere', async () => {
    const secure = await startRedis({ tls: true, password: 'sw0rdfish' });
    try {
      const env = { FEDAU_REDIS_CA: secure.ca! };
      const untrusted = await fedau(['workers', '--redis', secure.url]);
      expect(untrusted.exitCode).toBe(2);
      expect(untrusted.stderr).toContain('set FEDAU_REDIS_CA');
      const worker = await startFedauWorker(secure.url, { env });
      const r = await fedau(
        ['run', SMOKE, '--reporter', 'plain', '--redis', secure.url, '--store', join(await tempDir(), 's')],
        env,
      );
      worker.child.kill('SIGTERM');
      await worker.child;
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain('coordinating the workers of rediss://:***@127.0.0.1');
      for (const text of [r.stdout, r.stderr, worker.output(), untrusted.stderr])
        expect(text).not.toContain('sw0rdfish');
      expect(worker.child.exitCode).toBe(0);
    } finally {
      await secure.stop();
    }
  }, 180_000);
});
