import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/core/hash.ts';
import { CACHE_FORMAT, deriveSeed, diffKeyParts, type KeyParts, stageKey } from '../../src/engine/hash.ts';

describe('canonical JSON and stage keys', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined, x: 2 }], c: 'q' } })).toBe(
      '{"a":{"c":"q","d":[3,{"x":2,"z":1}]},"b":1}',
    );
  });

  it('refuses non-finite numbers instead of hashing them as null', () => {
    expect(() => canonicalJson({ lr: NaN })).toThrow(/non-finite number at \$\.lr/);
  });

  // The pinned value is sha256 of Python's json.dumps(parts, sort_keys=True, separators=(',', ':')): an independent
  // recipe.
  it('pins the key recipe (a change here invalidates every user cache: bump CACHE_FORMAT instead)', () => {
    const parts: KeyParts = {
      cacheFormat: CACHE_FORMAT,
      kind: 'partition',
      version: 1,
      params: { clients: 10, beta: 0.5 },
      inputs: { dataset: 'ab'.repeat(32) },
      seed: 42,
    };
    expect(stageKey(parts)).toBe('3cd52c4b523c25ba1c1a2b49b049165c4755546c53ca2ae043115aac7193fcbd');
    expect(stageKey({ ...parts, params: { beta: 0.5, clients: 10 } })).toBe(stageKey(parts));
    expect(stageKey({ ...parts, seed: 43 })).not.toBe(stageKey(parts));
  });

  it('derives a stage seed from the pipeline seed and kind, not the stage id', () => {
    expect(deriveSeed(0, 'partition')).toBe(deriveSeed(0, 'partition'));
    expect(deriveSeed(0, 'partition')).not.toBe(deriveSeed(1, 'partition'));
    expect(deriveSeed(0, 'partition')).not.toBe(deriveSeed(0, 'dataset'));
  });

  it('describes what changed between two keys', () => {
    const a = { version: 1, params: { alpha: 0.5, n: 1 }, inputs: { x: 'a'.repeat(64) } };
    const b = { version: 2, params: { alpha: 0.9, n: 1 }, inputs: { x: 'b'.repeat(64) } };
    expect(diffKeyParts(a, b)).toEqual([
      'inputs.x: aaaaaaaaaaaa → bbbbbbbbbbbb',
      'params.alpha: 0.5 → 0.9',
      'version: 1 → 2',
    ]);
  });
});
