import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../src/engine/gc.ts';
import { listRunLogs } from '../../src/engine/run-log.ts';
import { ArtifactStore } from '../../src/engine/store.ts';
import { fakeFedau, parseEvents, waitForLine } from '../helpers/cli.ts';
import { tempDir } from '../helpers/run-inline.ts';

const SLOW = (ms: number) => `
name: slow
stages:
  a: { uses: source, with: { value: 5 } }
  s: { uses: slow, needs: { x: a.out }, with: { ms: ${ms}, steps: 20 } }
  after: { uses: double, needs: { x: s.out } }
`;

async function setup(yaml: string) {
  const dir = await tempDir();
  await writeFile(join(dir, 'p.yaml'), yaml);
  const calls = join(dir, 'calls.log');
  await writeFile(calls, '');
  const run = () =>
    fakeFedau(['run', 'p.yaml', '--reporter', 'json', '--store', 'store'], {
      cwd: dir,
      env: { FEDAU_TEST_CALLS: calls },
    });
  const callLines = async () => (await readFile(calls, 'utf8')).split('\n').filter(Boolean);
  return { dir, run, callLines, store: new ArtifactStore(join(dir, 'store')) };
}

/** Every record parses and every blob it names has the right bytes. */
async function expectStoreConsistent(store: ArtifactStore) {
  for (const key of await store.listKeys()) {
    const lookup = await store.lookup(key);
    expect(lookup.hit, `record ${key}`).toBe(true);
  }
  for (const o of await store.listObjects()) {
    expect(await store.verify({ kind: 'metrics', digest: o.digest, size: o.size })).toBe('ok');
  }
}

describe('real processes on one store', () => {
  it('a run SIGKILLed in the middle of a stage leaves the store consistent, and the rerun completes', async () => {
    const ws = await setup(SLOW(4000));
    const child = ws.run();
    // Past the halfway step the stage has written an orphan blob: kill it there.
    await waitForLine(child, (l) => l.includes('"stage:progress"') && JSON.parse(l).step >= 12);
    child.kill('SIGKILL');
    const killed = await child;
    expect(killed.signal).toBe('SIGKILL');
    await expectStoreConsistent(ws.store);
    expect((await ws.store.listKeys()).length).toBe(1); // only "a" committed
    const logs = await listRunLogs(ws.store);
    expect(logs[0]).toMatchObject({ status: 'running', killed: true });
    expect(logs[0].stages.a.status).toBe('success');

    const rerun = await ws.run();
    expect(rerun.exitCode).toBe(0);
    const events = parseEvents(rerun.stdout);
    expect(events.find((e) => e.stageId === 'a' && e.type === 'stage:cached')).toBeTruthy();
    expect(events.at(-1)).toMatchObject({ type: 'run:end', status: 'success', counts: { cached: 1, success: 2 } });
    await expectStoreConsistent(ws.store);
    // The orphan blob of the killed stage is what gc collects.
    const gc = await collectGarbage(ws.store);
    expect(gc.objects).toHaveLength(1);
    expect(await readFile(ws.store.objectPath(gc.objects[0].digest)).catch(() => 'gone')).toBe('gone');
    await expectStoreConsistent(ws.store);
  });

  it('two concurrent runs on one store both succeed, run each stage once, and agree', async () => {
    const ws = await setup(SLOW(1500));
    const [one, two] = await Promise.all([ws.run(), ws.run()]);
    expect(one.exitCode).toBe(0);
    expect(two.exitCode).toBe(0);
    const lines = await ws.callLines();
    expect(lines.filter((l) => l.includes(' slow ')).length).toBe(1);
    const outputs = (r: typeof one) =>
      parseEvents(r.stdout)
        .filter((e) => e.type === 'stage:end' || e.type === 'stage:cached')
        .map((e) => [e.stageId, e.outputs?.out?.digest])
        .sort();
    expect(outputs(one)).toEqual(outputs(two));
    await expectStoreConsistent(ws.store);
    expect(await readdir(join(ws.dir, 'store', 'tmp'))).toEqual([]);
  });

  it('Ctrl-C stops with exit code 130, ends the json stream with run:end, and the next run resumes', async () => {
    const ws = await setup(SLOW(4000));
    const child = ws.run();
    await waitForLine(child, (l) => l.includes('"stage:progress"'));
    child.kill('SIGINT');
    const interrupted = await child;
    expect(interrupted.exitCode).toBe(130);
    expect(parseEvents(interrupted.stdout).at(-1)).toMatchObject({ type: 'run:end', status: 'interrupted' });
    const rerun = await ws.run();
    expect(rerun.exitCode).toBe(0);
    expect(parseEvents(rerun.stdout).at(-1).counts).toEqual({ success: 2, cached: 1, failure: 0, skipped: 0 });
  });

  it('a failing stage exits 1 and names the stage', async () => {
    const ws = await setup(`
name: failing
stages:
  a: { uses: source, with: { value: 1 } }
  bad: { uses: fail, needs: { x: a.out }, with: { message: "cannot go on" } }
`);
    const plain = await fakeFedau(['run', 'p.yaml', '--reporter', 'plain', '--store', 'store'], { cwd: ws.dir });
    expect(plain.exitCode).toBe(1);
    expect(plain.stdout).toContain('[bad] failed');
    expect(plain.stdout).toContain('cannot go on');
    expect(plain.stdout).not.toContain('at '); // no stack trace without --verbose
  });
});
