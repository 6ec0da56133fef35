import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ArtifactKind } from '../src/artifacts/kinds.ts';
import { unpackReport } from '../src/artifacts/report.ts';
import { canonicalJson, sha256 } from '../src/core/hash.ts';
import { Rng } from '../src/core/rng.ts';
import { makePartition } from '../src/data/partition.ts';
import { ArtifactStore } from '../src/engine/store.ts';
import { runPipeline } from '../src/index.ts';
import { lenet } from '../src/ml/models/lenet.ts';
import { flattenWeights, initWeights } from '../src/ml/models/params.ts';
import { ROOT } from './helpers/cli.ts';
import { tempDir } from './helpers/run-inline.ts';

/**
 * Golden values: a changed numeric path shows up here. The seeded streams and the initial weights are pinned
 * inline. Every artifact smoke.yaml produces is pinned by its stage key in test/golden/smoke.json: the same key
 * must always give the same bytes, so a stage whose code now computes something else without a `version` bump
 * (which changes its key) fails. New keys are recorded with `UPDATE_GOLDEN=1 npx vitest run test/golden.test.ts`;
 * a changed digest under an unchanged key is never recorded.
 */
const GOLDEN_FILE = join(ROOT, 'test/golden/smoke.json');

describe('golden determinism', () => {
  it('the seeded RNG streams', () => {
    const rng = new Rng(0, 'golden');
    expect([rng.nextU32(), rng.nextU32(), rng.nextU32(), rng.int(10), rng.next(), rng.normal()]).toMatchInlineSnapshot(`
      [
        1062404790,
        2477834281,
        4037058830,
        9,
        0.6533861339236496,
        0.05583722339954084,
      ]
    `);
    expect(new Rng(7, 'partition').shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])).toMatchInlineSnapshot(`
      [
        4,
        8,
        5,
        3,
        2,
        7,
        6,
        1,
        0,
        9,
      ]
    `);
    expect(new Rng(1, 'dirichlet').dirichlet(0.5, 4).map((p) => p.toFixed(6))).toMatchInlineSnapshot(`
      [
        "0.749898",
        "0.000022",
        "0.217791",
        "0.032288",
      ]
    `);
  });

  it('a Dirichlet split', () => {
    const labels = Uint8Array.from({ length: 600 }, (_, i) => (i * 7) % 10);
    const p = makePartition(
      labels,
      10,
      {
        clients: 5,
        scheme: 'dirichlet',
        beta: 0.5,
        mode: 'samples',
        unlearningClients: 1,
        unlearningClientIds: [],
        proportion: 0.02,
        classId: 9,
        target: 0,
        excludeTarget: true,
        trigger: { size: 3, x: 0, y: 0, value: 255 },
      },
      42,
    );
    expect(p.header.clientSizes).toMatchInlineSnapshot(`
      [
        149,
        38,
        19,
        261,
        133,
      ]
    `);
    expect(p.header.unlearningClients).toMatchInlineSnapshot(`
      [
        0,
      ]
    `);
    expect(sha256(new Uint8Array(p.indices.buffer)).slice(0, 16)).toMatchInlineSnapshot(`"5d14c66883b683ae"`);
  });

  it("LeNet's initial weights", () => {
    const weights = flattenWeights(initWeights(lenet(10).specs, 0));
    expect(weights.length).toBe(44_426);
    expect(sha256(new Uint8Array(weights.buffer))).toMatchInlineSnapshot(
      `"af5e1f9b7c67b34fb605bd21512167f2a64a865e0db1acba5ae1ead38ac86c79"`,
    );
  });

  it('every artifact of smoke.yaml, by stage key', async () => {
    const dir = await tempDir('fedau-golden-');
    const store = join(dir, 'store');
    const result = await runPipeline(join(ROOT, 'pipelines/smoke.yaml'), { store, workDir: dir, backend: 'wasm' });
    expect(result.status).toBe('success');
    const artifacts = new ArtifactStore(store);
    const actual: Record<string, { stage: string; outputs: Record<string, string> }> = {};
    for (const [stage, r] of Object.entries(result.stages)) {
      const outputs: Record<string, string> = {};
      for (const [name, ref] of Object.entries(r.outputs!)) {
        outputs[name] = timingFreeDigest(ref.kind, await artifacts.getBytes(ref));
      }
      actual[r.key!] = { stage, outputs };
    }
    const golden = existsSync(GOLDEN_FILE) ? (JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as typeof actual) : {};
    const changed = Object.entries(actual).filter(
      ([key, a]) => golden[key] && canonicalJson(golden[key]) !== canonicalJson(a),
    );
    expect(changed.map(([, a]) => `stage ${a.stage}: same key, different bytes: bump its kind's version`)).toEqual([]);
    const missing = Object.keys(actual).filter((key) => !golden[key]);
    if (missing.length && process.env.UPDATE_GOLDEN) {
      writeFileSync(GOLDEN_FILE, `${JSON.stringify(actual, null, 2)}\n`);
      return;
    }
    expect(missing.map((key) => `stage ${actual[key].stage} has a new key: record it with UPDATE_GOLDEN=1`)).toEqual(
      [],
    );
  }, 120_000);
});

/** A digest of an artifact's content with wall-clock timings left out. */
function timingFreeDigest(kind: ArtifactKind, bytes: Uint8Array): string {
  if (kind === 'history') return sha256(canonicalJson(withoutTimings(JSON.parse(new TextDecoder().decode(bytes)))));
  if (kind === 'report') {
    const json = unpackReport(bytes)['report.json'];
    return sha256(canonicalJson(withoutTimings(JSON.parse(new TextDecoder().decode(json)))));
  }
  return sha256(bytes);
}

/** Wall-clock figures: `seconds`, every `…Seconds` (a method's learn and unlearn time) and the ratio made of them. */
function isTiming(key: string): boolean {
  return key === 'seconds' || key.endsWith('Seconds') || key === 'costRatio';
}

function withoutTimings(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimings);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !isTiming(k))
        .map(([k, v]) => [k, withoutTimings(v)]),
    );
  }
  return value;
}
