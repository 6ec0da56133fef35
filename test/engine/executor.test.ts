import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../src/engine/store.ts';
import { fakeWorkspace } from '../helpers/run-inline.ts';

const PIPELINE = (opts: { a?: number; offset?: number; aId?: string } = {}) => `
name: t
stages:
  ${opts.aId ?? 'a'}: { uses: source, with: { value: ${opts.a ?? 1} } }
  b: { uses: source, with: { value: 2 } }
  sum: { uses: add, needs: { a: ${opts.aId ?? 'a'}.out, b: b.out }, with: { offset: ${opts.offset ?? 0} } }
  twice: { uses: double, needs: { x: sum.sum } }
`;

async function readOutput(store: string, digest: string) {
  return readFile(new ArtifactStore(store).objectPath(digest), 'utf8');
}

describe('executor and cache', () => {
  it('runs every stage once, then reports all cached without calling a stage body', async () => {
    const ws = await fakeWorkspace();
    const first = await ws.run(PIPELINE());
    expect(first.result.status).toBe('success');
    expect(first.result.counts).toEqual({ success: 4, cached: 0, failure: 0, skipped: 0 });
    expect(await readOutput(ws.store, first.result.stages.twice.outputs!.out.digest)).toBe('6');
    const calls = () => Object.values(ws.calls).reduce((n, fn) => n + fn.mock.calls.length, 0);
    const before = calls();
    const second = await ws.run(PIPELINE());
    expect(second.result.counts).toEqual({ success: 0, cached: 4, failure: 0, skipped: 0 });
    expect(calls()).toBe(before);
    expect(
      second.events
        .filter((e) => e.type === 'stage:cached')
        .map((e) => (e as { stageId: string }).stageId)
        .sort(),
    ).toEqual(['a', 'b', 'sum', 'twice']);
  });

  it('re-runs exactly the stage whose param changed and its dependents', async () => {
    const ws = await fakeWorkspace();
    await ws.run(PIPELINE());
    const changed = await ws.run(PIPELINE({ offset: 10 }));
    expect(['a', 'b', 'sum', 'twice'].map(changed.statusOf)).toEqual(['cached', 'cached', 'success', 'success']);
    expect(await readOutput(ws.store, changed.result.stages.twice.outputs!.out.digest)).toBe('26');
    const start = changed.events.find((e) => e.type === 'stage:start' && e.stageId === 'sum') as { reason: string };
    expect(start.reason).toBe('param offset: 0 → 10');
  });

  it('keeps the cache when a stage is renamed', async () => {
    const ws = await fakeWorkspace();
    await ws.run(PIPELINE());
    const renamed = await ws.run(PIPELINE({ aId: 'first' }));
    expect(renamed.result.counts.cached).toBe(4);
    expect(ws.calls.source).toHaveBeenCalledTimes(2);
  });

  it('early cutoff: a re-run stage with byte-identical output leaves its dependents cached', async () => {
    const ws = await fakeWorkspace();
    const yaml = (value: number) => `
name: cutoff
stages:
  m: { uses: mod, with: { value: ${value}, by: 10 } }
  d: { uses: double, needs: { x: m.out } }
`;
    await ws.run(yaml(3));
    const again = await ws.run(yaml(13));
    expect(again.statusOf('m')).toBe('success');
    expect(again.statusOf('d')).toBe('cached');
    expect(ws.calls.double).toHaveBeenCalledTimes(1);
    const changed = await ws.run(yaml(14));
    expect(changed.statusOf('d')).toBe('success');
  });

  it('--force re-runs the named stage only; early cutoff keeps its dependents', async () => {
    const ws = await fakeWorkspace();
    await ws.run(PIPELINE());
    const forced = await ws.run(PIPELINE(), { force: ['sum'] });
    expect(['a', 'b', 'sum', 'twice'].map(forced.statusOf)).toEqual(['cached', 'cached', 'success', 'cached']);
    const all = await ws.run(PIPELINE(), { force: true });
    expect(all.result.counts.success).toBe(4);
  });

  it('a failing stage skips its dependents while independent stages finish', async () => {
    const ws = await fakeWorkspace();
    const { result, events } = await ws.run(`
name: failing
stages:
  a: { uses: source, with: { value: 1 } }
  bad: { uses: fail, needs: { x: a.out }, with: { message: "the data is wrong" } }
  after: { uses: double, needs: { x: bad.out } }
  after2: { uses: double, needs: { x: after.out } }
  fine: { uses: double, needs: { x: a.out } }
`);
    expect(result.status).toBe('failure');
    expect(result.counts).toEqual({ success: 2, cached: 0, failure: 1, skipped: 2 });
    expect(result.stages.bad.error?.message).toBe('the data is wrong');
    expect(result.stages.bad.error?.info?.stageId).toBe('bad');
    const skipped = events.filter((e) => e.type === 'stage:skipped') as { stageId: string; because?: string }[];
    expect(skipped.map((e) => [e.stageId, e.because])).toEqual([
      ['after', 'bad'],
      ['after2', 'bad'],
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'run:end', status: 'failure', counts: result.counts });
  });

  it('runs independent stages concurrently within the bound', async () => {
    const ws = await fakeWorkspace();
    const { events } = await ws.run(`
name: parallel
concurrency: 2
stages:
  a: { uses: source, with: { value: 1 } }
  s1: { uses: slow, needs: { x: a.out }, with: { ms: 150, steps: 3 } }
  s2: { uses: slow, needs: { x: a.out }, with: { ms: 151, steps: 3 } }
  s3: { uses: slow, needs: { x: a.out }, with: { ms: 152, steps: 3 } }
`);
    let running = 0;
    let peak = 0;
    for (const e of events) {
      if (e.type === 'stage:start') peak = Math.max(peak, ++running);
      if (e.type === 'stage:end') running--;
    }
    expect(peak).toBe(2);
  });

  it('runs two stages with the same key once: the second waits for the lock and is served from the cache', async () => {
    const ws = await fakeWorkspace();
    const { result } = await ws.run(`
name: dedupe
stages:
  a: { uses: source, with: { value: 1 } }
  s1: { uses: slow, needs: { x: a.out }, with: { ms: 100, steps: 2 } }
  s2: { uses: slow, needs: { x: a.out }, with: { ms: 100, steps: 2 } }
`);
    expect(ws.calls.slow).toHaveBeenCalledTimes(1);
    expect([result.stages.s1.status, result.stages.s2.status].sort()).toEqual(['cached', 'success']);
    expect(result.stages.s1.outputs).toEqual(result.stages.s2.outputs);
  });

  it('treats a corrupted blob as a miss with a warning and repairs it', async () => {
    const ws = await fakeWorkspace();
    const first = await ws.run(PIPELINE());
    const digest = first.result.stages.sum.outputs!.sum.digest;
    const path = new ArtifactStore(ws.store).objectPath(digest);
    await writeFile(path, '4'); // same size, wrong bytes
    const second = await ws.run(PIPELINE());
    expect(second.statusOf('sum')).toBe('success');
    expect(second.statusOf('twice')).toBe('cached'); // the repaired output is byte-identical
    const warning = second.events.find((e) => e.type === 'stage:log' && e.level === 'warn') as {
      text: string;
      stageId: string;
    };
    expect(warning.stageId).toBe('sum');
    expect(warning.text).toMatch(/corrupt/);
    expect(await readFile(path, 'utf8')).toBe('3');
  });

  it('treats a record whose blob is missing as a miss, and an unreadable record too', async () => {
    const ws = await fakeWorkspace();
    const first = await ws.run(PIPELINE());
    const store = new ArtifactStore(ws.store);
    await rm(store.objectPath(first.result.stages.b.outputs!.out.digest));
    await writeFile(store.recordPath(first.result.stages.a.key!), '{"format": 1, "ke');
    const second = await ws.run(PIPELINE());
    expect(second.statusOf('a')).toBe('success');
    expect(second.statusOf('b')).toBe('success');
    const warnings = second.events
      .filter((e) => e.type === 'stage:log' && e.level === 'warn')
      .map((e) => (e as { text: string }).text);
    expect(warnings.some((w) => /missing/.test(w))).toBe(true);
    expect(warnings.some((w) => /unreadable/.test(w))).toBe(true);
    expect(second.result.status).toBe('success');
  });

  it('stops on abort, keeps what completed, and the next run resumes from there', async () => {
    const ws = await fakeWorkspace();
    const yaml = `
name: abortable
stages:
  a: { uses: source, with: { value: 1 } }
  s: { uses: slow, needs: { x: a.out }, with: { ms: 400, steps: 8 } }
  after: { uses: double, needs: { x: s.out } }
`;
    const controller = new AbortController();
    const run = ws.run(yaml, {
      signal: controller.signal,
      reporters: [{ onEvent: (e) => void (e.type === 'stage:progress' && e.step >= 2 && controller.abort()) }],
    });
    const { result } = await run;
    expect(result.status).toBe('interrupted');
    expect(result.stages.a.status).toBe('success');
    expect(result.stages.s.status).toBe('skipped');
    expect(result.stages.after.status).toBe('skipped');
    const resumed = await ws.run(yaml);
    expect(resumed.result.status).toBe('success');
    expect(resumed.statusOf('a')).toBe('cached');
    expect(resumed.statusOf('s')).toBe('success');
  });

  it('stage progress is capped per stage but the last step always arrives', async () => {
    const ws = await fakeWorkspace();
    const { events } = await ws.run(`
name: progress
stages:
  a: { uses: source, with: { value: 1 } }
  s: { uses: slow, needs: { x: a.out }, with: { ms: 20, steps: 20 } }
`);
    const progress = events.filter((e) => e.type === 'stage:progress') as { step: number }[];
    expect(progress.length).toBeLessThan(20);
    expect(progress.at(-1)!.step).toBe(20);
  });

  it('writes a run log that `fedau runs` can list, and no temp files are left', async () => {
    const ws = await fakeWorkspace();
    await ws.run(PIPELINE());
    const runs = await readdir(join(ws.store, 'runs'));
    expect(runs).toHaveLength(1);
    const log = JSON.parse(await readFile(join(ws.store, 'runs', runs[0]), 'utf8'));
    expect(log).toMatchObject({ pipeline: 't', status: 'success', counts: { success: 4 } });
    expect(log.stages.sum.parts.params).toEqual({ offset: 0 });
    expect(await readdir(join(ws.store, 'tmp'))).toEqual([]);
    expect((await readdir(join(ws.store, 'locks'))).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });
});
