import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { RunEvent } from '../../src/engine/events.ts';
import { runPipeline } from '../../src/index.ts';
import type { ReportJson } from '../../src/report/report-data.ts';
import { ROOT } from '../helpers/cli.ts';
import { tempDir } from '../helpers/run-inline.ts';

const SMOKE = join(ROOT, 'pipelines/smoke.yaml');

async function runSmoke(dir: string, opts: { matrix?: string[]; sets?: string[] } = {}) {
  const events: RunEvent[] = [];
  const result = await runPipeline(SMOKE, {
    store: join(dir, 'store'),
    workDir: dir,
    ...opts,
    reporters: [{ onEvent: (e) => void events.push(e) }],
  });
  expect(result.status).toBe('success');
  const kinds = Object.fromEntries(
    (events.find((e) => e.type === 'run:start') as { stages: { id: string; kind: string }[] }).stages.map((s) => [
      s.id,
      s.kind,
    ]),
  );
  const ran: Record<string, number> = {};
  for (const e of events) if (e.type === 'stage:start') ran[kinds[e.stageId]] = (ran[kinds[e.stageId]] ?? 0) + 1;
  const report = JSON.parse(await readFile(join(dir, 'reports/smoke/report.json'), 'utf8')) as ReportJson;
  return { result, ran, report };
}

describe('seeds and sweeps (matrix) and the report', () => {
  it('trains once per seed, unlearns once per α, aggregates over seeds, and draws the α curve', async () => {
    const dir = await tempDir();
    const first = await runSmoke(dir, { matrix: ['seed=0,1', 'forget.alpha=0.5,0.9'] });
    // Counted from what ran: every stage that does not depend on α is shared by the α values of its seed.
    expect(first.ran).toEqual({
      dataset: 2,
      partition: 2,
      'train-federation': 2,
      retrain: 2,
      unlearn: 4,
      evaluate: 4,
      report: 1,
    });
    const r = first.report;
    expect(r.variants!.map((v) => v.id)).toEqual([
      'seed=0,forget.alpha=0.5',
      'seed=0,forget.alpha=0.9',
      'seed=1,forget.alpha=0.5',
      'seed=1,forget.alpha=0.9',
    ]);
    for (const v of r.variants!) {
      expect(v.settings.alpha).toBe(v.values['forget.alpha']);
      expect(v.curves!.settings).toEqual(v.settings);
      expect(v.retrained).not.toBeNull();
    }
    expect(r.aggregate!.map((a) => [a.values, a.seeds])).toEqual([
      [{ 'forget.alpha': 0.5 }, [0, 1]],
      [{ 'forget.alpha': 0.9 }, [0, 1]],
    ]);
    const acc = r.variants!.filter((v) => v.values['forget.alpha'] === 0.5).map((v) => v.unlearned.testAccuracy);
    const stat = r.aggregate![0].figures['unlearned.testAccuracy'];
    expect(stat.mean).toBeCloseTo((acc[0] + acc[1]) / 2, 12);
    expect(stat.std).toBeCloseTo(Math.abs(acc[0] - acc[1]) / Math.SQRT2, 12);
    const sweep = JSON.parse(await readFile(join(dir, 'reports/smoke/charts/sweep.vl.json'), 'utf8'));
    expect(sweep.data).toEqual({ url: 'sweep.csv' });
    const csv = await readFile(join(dir, 'reports/smoke/charts/sweep.csv'), 'utf8');
    expect(csv.split('\n')[0]).toBe('x,metric,model,mean,lo,hi');
    expect(csv).toContain('0.9,test accuracy,FedAU unlearned');
    expect(csv).toMatch(/,backdoor attack success rate,retrained,/);
    const svg = await readFile(join(dir, 'reports/smoke/charts/sweep.svg'), 'utf8');
    expect(svg).toMatch(/^<svg[\s\S]*α[\s\S]*<\/svg>$/);
    const metricsCsv = (await readFile(join(dir, 'reports/smoke/metrics.csv'), 'utf8')).trim().split('\n');
    // Per variant: the original, unlearned and retrained models, and the methods fedau and retrain.
    expect(metricsCsv).toHaveLength(1 + 4 * 5);
    expect(metricsCsv.filter((l) => l.includes(',method:fedau,'))).toHaveLength(4);

    // One more α: only its unlearning and evaluation run (and the report), the trainings come from the cache.
    const more = await runSmoke(dir, { matrix: ['seed=0,1', 'forget.alpha=0.5,0.7,0.9'] });
    expect(more.ran).toEqual({ unlearn: 2, evaluate: 2, report: 1 });

    // fedau compare lists the figures side by side: one column per α, mean ± std over the seeds.
    const lines: string[] = [];
    expect(await main(['compare', join(dir, 'reports/smoke')], { out: (l) => lines.push(l) })).toBe(0);
    expect(lines[0]).toMatch(/^figure\s+smoke \[α=0\.5\] n=2\s+smoke \[α=0\.7\] n=2\s+smoke \[α=0\.9\] n=2$/);
    expect(lines.find((l) => l.startsWith('test accuracy, retrained'))).toMatch(/\d\.\d{4} ± \d\.\d{4}/);
  }, 240_000);

  it('the metrics carry their settings; the curves can follow other ones, and the report says both', async () => {
    const dir = await tempDir();
    const { report } = await runSmoke(dir, { sets: ['forget.alpha=0.6', 'eval.curves.alpha=0.3'] });
    expect(report.settings).toEqual({ alpha: 0.6, rule: 'mix', classScale: 1, clients: report.unlearningClients });
    expect(report.curves!.settings.alpha).toBe(0.3);
    const md = await readFile(join(dir, 'reports/smoke/report.md'), 'utf8');
    expect(md).toContain('Unlearning: (1−α)·W1 + α·mean W2, α = 0.6.');
    expect(md).toContain('The per-round curves use other settings: (1−α)·W1 + α·mean W2, α = 0.3');
    expect(report.seconds.retrain).toBeGreaterThan(0);
    expect(report.costRatio).toBeGreaterThan(0);
  }, 120_000);
});

describe('where the report is written', () => {
  it('never replaces a folder fedau did not write; replaces its own report folder whole', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'important.txt'), 'mine');
    const sets = ['name=data', 'report.dir=.', 'train.rounds=1'];
    const run = () => runPipeline(SMOKE, { store: join(dir, 'store'), workDir: dir, sets });
    const refused = await run();
    expect(refused.status).toBe('failure');
    expect(refused.stages.report.error?.message).toContain(
      `${join(dir, 'data')} exists and was not written by fedau: the report will not replace it`,
    );
    expect(await readdir(join(dir, 'data'))).toEqual(['important.txt']);
    // A cache hit publishes too, and is refused the same way.
    expect((await run()).stages.report).toMatchObject({ status: 'failure' });
    expect(await readFile(join(dir, 'data', 'important.txt'), 'utf8')).toBe('mine');

    await rm(join(dir, 'data'), { recursive: true });
    expect((await run()).status).toBe('success');
    await writeFile(join(dir, 'data', 'stale.txt'), 'left by an older report');
    expect((await run()).status).toBe('success');
    const files = await readdir(join(dir, 'data'));
    expect(files).toContain('report.json');
    expect(files).not.toContain('stale.txt');
    expect((await readdir(dir)).filter((f) => f.includes('.fedau-'))).toEqual([]);
  });
});
