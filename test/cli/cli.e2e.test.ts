import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fedau, parseEvents } from '../helpers/cli.ts';
import { tempDir } from '../helpers/run-inline.ts';

describe('the fedau CLI (the shipped bin, as a user runs it)', () => {
  it('runs pipelines/smoke.yaml, and a second run reports every stage cached', async () => {
    const store = join(await tempDir(), 'store');
    const first = await fedau(['run', 'pipelines/smoke.yaml', '--reporter', 'json', '--store', store]);
    expect(first.exitCode, first.stderr).toBe(0);
    const second = await fedau(['run', 'pipelines/smoke.yaml', '--reporter', 'json', '--store', store]);
    expect(second.exitCode).toBe(0);
    const events = parseEvents(second.stdout);
    expect(
      second.stdout
        .trim()
        .split('\n')
        .every((l) => l.startsWith('{')),
    ).toBe(true); // nothing but NDJSON
    const stageIds = events.find((e) => e.type === 'run:start').stages.map((s: { id: string }) => s.id);
    expect(
      events
        .filter((e) => e.type === 'stage:cached')
        .map((e) => e.stageId)
        .sort(),
    ).toEqual([...stageIds].sort());
    const end = events.at(-1);
    expect(end).toMatchObject({
      type: 'run:end',
      status: 'success',
      counts: { cached: stageIds.length, success: 0, failure: 0, skipped: 0 },
    });

    const plan = await fedau(['plan', 'pipelines/smoke.yaml', '--store', store, '--set', 'split.proportion=0.2']);
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toMatch(/split\s+partition\s+will run\s+param proportion: 0.15 → 0.2/);
    expect(plan.stdout).toMatch(/train\s+train-federation\s+may run\s+upstream will run first: split/);
    expect(plan.stdout).toMatch(/data\s+dataset\s+cached/);

    // A longer training of the same recipe is estimated from the time per round this store measured (in the first
    // run: the second trained nothing).
    const trained = parseEvents(first.stdout);
    const history = trained.find((e) => e.type === 'stage:end' && e.stageId === 'train').outputs.history;
    const perRound = history.meta.seconds / 4;
    const firstRun = trained.find((e) => e.type === 'run:start').runId;
    const longer = await fedau(['plan', 'pipelines/smoke.yaml', '--store', store, '--set', 'train.rounds=40']);
    expect(longer.stdout).toMatch(/train\s+train-federation\s+will run\s+param rounds: 4 → 40/);
    expect(longer.stdout).toContain(
      `cost: ≈ ${perRound.toFixed(1)} s per round as measured in run ${firstRun} here, 40 rounds`,
    );

    const runs = await fedau(['runs', '--store', store]);
    expect(runs.stdout.trim().split('\n')).toHaveLength(2);
    expect(runs.stdout).toMatch(/smoke\s+success\s+0 cached · \d+ ran/);

    const gc = await fedau(['gc', '--dry-run', '--store', store]);
    expect(gc.exitCode).toBe(0);
    expect(gc.stdout).toContain('would delete 0 blobs');
  });

  it('rejects a bad pipeline with exit code 2, file:line and a hint, and no stack trace', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'bad.yaml'), 'name: bad\nstages:\n  data: { uses: dataset, with: { source: nmp } }\n');
    const result = await fedau(['run', 'bad.yaml', '--store', join(dir, 'store')], { cwd: dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      'bad.yaml:3:42  stages.data.with.source: must be one of "npm", "file", "url", "synthetic"',
    );
    expect(result.stderr).toContain('did you mean "npm"?');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('usage errors exit 2', async () => {
    expect((await fedau(['frobnicate'])).exitCode).toBe(2);
    const noFile = await fedau(['run']);
    expect(noFile.exitCode).toBe(2);
    expect(noFile.stderr).toContain('needs a pipeline file');
    const missing = await fedau(['validate', 'nope.yaml']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('pipeline file not found');
    const badFlag = await fedau(['run', 'pipelines/smoke.yaml', '--reporter', 'fancy']);
    expect(badFlag.exitCode).toBe(2);
    expect(badFlag.stderr).toContain('expected ink | plain | json, got fancy');
  });

  it('a requested backend that cannot load stops the run before any stage, with exit code 2 and a hint', async () => {
    const store = join(await tempDir(), 'store');
    const result = await fedau(['run', 'pipelines/smoke.yaml', '--backend', 'tensorflow', '--store', store]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      'backend "tensorflow" was requested, but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node ' +
        'is installed',
    );
    expect(result.stderr).toContain('hint: see the README section "GPUs"');
    expect(result.stdout).not.toContain('running');
    const json = await fedau(['run', 'pipelines/smoke.yaml', '--reporter', 'json', '--store', store]);
    expect(parseEvents(json.stdout)[0]).toMatchObject({ type: 'run:start', runtime: 'backend wasm' });
  });

  it('plan states the cost per round of the CIFAR pipelines on the CPU, and the way to a short run', async () => {
    const store = join(await tempDir(), 'store');
    const c10 = await fedau(['plan', 'pipelines/cifar10-ul-class.yaml', '--store', store]);
    expect(c10.exitCode).toBe(0);
    expect(c10.stdout).toMatch(
      new RegExp(
        String.raw`train\s+train-federation[\s\S]*cost: ≈ \d+ min per round of training on the CPU ` +
          String.raw`\(wasm, \d trainer threads\), 200 rounds ≈ [\d.]+ days; a GPU backend`,
      ),
    );
    expect(c10.stdout).toContain('`--set train.rounds=N` a short run');
    const c100 = await fedau(['plan', 'pipelines/cifar100-ul-samples.yaml', '--store', store]);
    expect(c100.stdout).toMatch(/cost: ≈ [\d.]+ (min|h) per round/);
    expect(c100.stdout).toContain('resnet18 trains at most batch 112: add --set train.batchSize=112');
  });

  it('validate and stages describe the pipeline and every stage kind from the schemas', async () => {
    const validate = await fedau(['validate', 'pipelines/smoke.yaml']);
    expect(validate.exitCode).toBe(0);
    expect(validate.stdout).toContain('pipeline "smoke" is valid');
    const stages = await fedau(['stages']);
    expect(stages.exitCode).toBe(0);
    expect(stages.stdout).toMatch(/partition\s+\(version \d+\)/);
    expect(stages.stdout).toMatch(/clients\s+integer \[1\.\.1000\]\s+= 10/);
    expect(stages.stdout).toContain('Dirichlet concentration');
  });
});
