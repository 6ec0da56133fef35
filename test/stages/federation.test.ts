import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.ts';
import { runPipeline } from '../../src/index.ts';
import { BIN, fedau, parseEvents, ROOT, waitForLine } from '../helpers/cli.ts';
import { tempDir } from '../helpers/run-inline.ts';

const SMOKE = join(ROOT, 'pipelines/smoke.yaml');

async function run(store: string, workDir: string, opts: { sets?: string[]; workers?: number; force?: string[] } = {}) {
  const events: RunEvent[] = [];
  const result = await runPipeline(SMOKE, {
    store,
    workDir,
    sets: opts.sets,
    workers: opts.workers,
    force: opts.force,
    reporters: [{ onEvent: (e) => void events.push(e) }],
  });
  return {
    result,
    events,
    status: (id: string) => result.stages[id].status,
    digest: (id: string, out: string) => result.stages[id].outputs![out].digest,
  };
}

describe('the FedAU stages on synthetic data (pipelines/smoke.yaml)', () => {
  it('trains a federation that learns, unlearns the backdoor, reports, and is cached on the second run', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const first = await run(store, dir);
    expect(first.result.status).toBe('success');
    const report = JSON.parse(await readFile(join(dir, 'reports/smoke/report.json'), 'utf8'));
    expect(report).toMatchObject({
      pipeline: 'smoke',
      dataset: 'mnist',
      model: 'lenet',
      mode: 'samples',
      clients: 4,
      rounds: 4,
      forgetMetric: 'backdoor-asr',
      backend: 'wasm',
    });
    expect(report.original.testAccuracy).toBeGreaterThan(0.8); // 10 classes: chance is 0.1
    expect(report.unlearned.forget).toBeLessThan(report.original.forget);
    // The retrained model never saw the backdoor: it has none to forget.
    expect(report.retrained.forget).toBeLessThan(0.05);
    expect(report.history).toHaveLength(4);
    expect(report.retrainHistory).toHaveLength(4);
    expect(report.history[3].loss).toBeLessThan(report.history[0].loss);
    for (const f of [
      'report.md',
      'report.html',
      'charts/curves.svg',
      'charts/per-class.svg',
      'metrics.csv',
      'history.csv',
    ])
      expect((await stat(join(dir, 'reports/smoke', f))).size).toBeGreaterThan(300);
    expect(await readFile(join(dir, 'reports/smoke/report.html'), 'utf8')).toMatch(/<svg[\s\S]*<\/svg>[\s\S]*<svg/);

    const second = await run(store, dir);
    expect(second.result.counts).toEqual({ success: 0, cached: 7, failure: 0, skipped: 0 });
    expect(second.events.some((e) => e.type === 'stage:start')).toBe(false);

    // --force recomputes: the finished training's checkpoint is not reused, every round trains again.
    const forced = await run(store, dir, { force: ['train'] });
    const logs = forced.events.flatMap((e) => (e.type === 'stage:log' && e.stageId === 'train' ? [e.text] : []));
    expect(logs.join('\n')).not.toMatch(/resuming from the checkpoint/);
    const rounds = forced.events.filter((e) => e.type === 'stage:progress' && e.stageId === 'train');
    expect(rounds.length).toBeGreaterThan(4);
    expect(forced.digest('train', 'federation')).toBe(first.digest('train', 'federation'));
  });

  it('changing an unlearn param re-runs only unlearn, evaluate and report', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    await run(store, dir);
    // α 0.1 keeps most of W1: the metrics change, so the report re-runs too (an unchanged metric would stay cached).
    const changed = await run(store, dir, { sets: ['forget.alpha=0.1'] });
    expect(['data', 'split', 'train', 'retrain', 'forget', 'eval', 'report'].map(changed.status)).toEqual([
      'cached',
      'cached',
      'cached',
      'cached',
      'success',
      'success',
      'success',
    ]);
    const start = changed.events.find((e) => e.type === 'stage:start' && e.stageId === 'forget') as { reason: string };
    expect(start.reason).toBe('param alpha: 0.9 → 0.1');
  });

  it('gives byte-identical artifacts for the same pipeline and seed, with 1 worker or 2', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const one = await run(join(a, 'store'), a, { workers: 1 });
    const two = await run(join(b, 'store'), b, { workers: 2 });
    for (const [stage, out] of [
      ['data', 'dataset'],
      ['split', 'partition'],
      ['train', 'federation'],
      ['train', 'trace'],
      ['train', 'history'],
      ['retrain', 'model'],
      ['forget', 'model'],
      ['eval', 'metrics'],
    ]) {
      expect(one.digest(stage, out), `${stage}.${out}`).toBe(two.digest(stage, out));
    }
    const otherSeed = await run(join(b, 'store2'), b, { sets: ['seed=1'] });
    expect(otherSeed.digest('train', 'federation')).not.toBe(one.digest('train', 'federation'));
  });

  it("a training killed mid-run resumes from its last finished round, with an uninterrupted run's result", async () => {
    const dir = await tempDir();
    const args = (store: string) => ['run', SMOKE, '--reporter', 'json', '--store', store, '--set', 'train.rounds=6'];
    const child = execa('node', [BIN, ...args(join(dir, 'store'))], { cwd: dir, env: { CI: '1' }, reject: false });
    await waitForLine(child, (l) => l.includes('"label":"round 3/6 done"'));
    child.kill('SIGKILL');
    await child;
    const resumed = await fedau(args(join(dir, 'store')), { cwd: dir });
    expect(resumed.exitCode).toBe(0);
    const events = parseEvents(resumed.stdout);
    const log = events.find((e) => e.type === 'stage:log' && /resuming from the checkpoint after round/.test(e.text));
    expect(Number(/round (\d+)/.exec(log.text)![1])).toBeGreaterThanOrEqual(3);
    const firstTrainedRound = events.find((e) => e.type === 'stage:progress' && e.stageId === 'train')?.label;
    expect(firstTrainedRound).not.toMatch(/^round 1\//);
    const whole = await fedau(args(join(dir, 'store-whole')), { cwd: dir });
    const digest = (out: string) =>
      parseEvents(out).find((e) => e.type === 'stage:end' && e.stageId === 'train').outputs.federation.digest;
    expect(digest(resumed.stdout)).toBe(digest(whole.stdout));
  });

  it('a damaged checkpoint or trace file is discarded with a warning; the result is the undisturbed one', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const sets = ['train.rounds=3'];
    const whole = await run(store, dir, { sets });
    expect(whole.result.status).toBe('success');
    const key = whole.result.stages.train.key!;
    const ckpt = join(store, 'checkpoints', key);
    const outputs = ['federation', 'history', 'trace'].map((o) => whole.digest('train', o));
    const damage = async (file: string, at: number) => {
      const bytes = await readFile(join(ckpt, file));
      bytes[at] ^= 0x5a;
      bytes[at + 1] ^= 0xa5;
      await writeFile(join(ckpt, file), bytes);
      await rm(join(store, 'records', key.slice(0, 2), `${key}.json`));
    };
    const rerun = async () => {
      const r = await run(store, dir, { sets });
      const logs = r.events.flatMap((e) => (e.type === 'stage:log' && e.stageId === 'train' ? [e.text] : []));
      expect(['federation', 'history', 'trace'].map((o) => r.digest('train', o))).toEqual(outputs);
      return logs;
    };

    // Two bytes flipped in the float data of the last checkpoint: the one before is used.
    await damage('federation.ckpt', (await stat(join(ckpt, 'federation.ckpt'))).size - 200);
    let logs = await rerun();
    expect(logs).toContain('a damaged checkpoint was discarded: federation.ckpt: its bytes do not match its digest');
    expect(logs).toContain('resuming from the checkpoint after round 2');

    // A trace file of the first round, which every checkpoint attests: none can be used, and training starts over.
    await damage('trace/r1.bin', 100);
    logs = await rerun();
    expect(logs).toContain(
      'a damaged checkpoint was discarded: federation.ckpt: trace/r1.bin, written with it, is damaged',
    );
    expect(logs).toContain('no intact checkpoint is left: training starts over');
  });

  it('partial participation: half the clients a round, the same bytes twice, not full participation', async () => {
    const dir = await tempDir();
    const half = ['train.clientFraction=0.5', 'train.rounds=6'];
    // The report folder shows the last run: full participation first.
    const full = await run(join(dir, 'c'), dir, { sets: ['train.rounds=6'] });
    const [a, b] = [await run(join(dir, 'a'), dir, { sets: half }), await run(join(dir, 'b'), dir, { sets: half })];
    for (const r of [a, b, full]) expect(r.result.status).toBe('success');
    expect(a.digest('train', 'federation')).toBe(b.digest('train', 'federation'));
    expect(a.digest('retrain', 'model')).toBe(b.digest('retrain', 'model'));
    expect(a.digest('train', 'federation')).not.toBe(full.digest('train', 'federation'));
    const report = JSON.parse(await readFile(join(dir, 'reports/smoke/report.json'), 'utf8'));
    expect(report.history).toHaveLength(6);
    for (const round of report.history) expect(round.participants).toHaveLength(2);
    // The retrain replays the same draw (the forgotten samples' client keeps its clean samples, so it stays in).
    expect(report.retrainHistory.map((r: { participants: number[] }) => r.participants)).toEqual(
      report.history.map((r: { participants: number[] }) => r.participants),
    );
    const md = await readFile(join(dir, 'reports/smoke/report.md'), 'utf8');
    expect(md).toContain('6 rounds, 2 of 4 clients a round (C = 0.5)');
    // Three trainings and retrainings: 41 s in CI, more on a busy machine.
  }, 180_000);
});
