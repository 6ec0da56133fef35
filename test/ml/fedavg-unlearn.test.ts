import { describe, expect, it } from 'vitest';
import { aggregationWeights, fedAvg } from '../../src/fl/fedavg.ts';
import { reanchor, unlearnClassifier } from '../../src/ml/fedau/unlearn-op.ts';

const f = (...v: number[]) => Float32Array.from(v);

describe('FedAvg', () => {
  it('is the normalised weighted mean of every tensor', () => {
    const models = [
      [f(1, 2), f(10)],
      [f(3, 6), f(20)],
      [f(5, 10), f(60)],
    ];
    const avg = fedAvg(models, [1, 1, 2]);
    expect([...avg[0]]).toEqual([3.5, 7]);
    expect([...avg[1]]).toEqual([37.5]);
  });

  it('gives a client without data weight 0, and weighs by size on request', () => {
    expect(aggregationWeights([100, 0, 300], 'equal')).toEqual([1, 0, 1]);
    expect(aggregationWeights([100, 0, 300], 'size')).toEqual([100, 0, 300]);
    expect([...fedAvg([[f(1)], [f(100)], [f(5)]], aggregationWeights([100, 0, 300], 'size'))[0]]).toEqual([4]);
  });

  it('refuses mismatched inputs', () => {
    expect(() => fedAvg([[f(1)]], [1, 2])).toThrow(/1 models and 2 weights/);
    expect(() => fedAvg([[f(1)]], [0])).toThrow(/sum to zero/);
  });
});

describe('unlearning operation on the last layer', () => {
  const W1 = { weight: f(1, 2, 3, 4), bias: f(1, -1) };
  const heads = [
    { weight: f(0, 0, 0, 0), bias: f(0, 0) },
    { weight: f(2, 2, 2, 2), bias: f(4, 2) },
  ];

  it('samples/client (mix): (1−α)·W1 + α·mean W2', () => {
    const out = unlearnClassifier(W1, heads, { mode: 'samples', alpha: 0.9, rule: 'mix', classScale: 1 });
    for (const [i, v] of [0.1 + 0.9, 0.2 + 0.9, 0.3 + 0.9, 0.4 + 0.9].entries())
      expect(out.weight[i]).toBeCloseTo(v, 6);
    for (const [i, v] of [0.1 + 1.8, -0.1 + 0.9].entries()) expect(out.bias[i]).toBeCloseTo(v, 6);
  });

  it('paper-era rule: α·mean W2, whatever W1 was', () => {
    const out = unlearnClassifier(W1, heads, { mode: 'client', alpha: 0.5, rule: 'w2only', classScale: 1 });
    expect([...out.weight]).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect([...out.bias]).toEqual([1, 0.5]);
  });

  it('class: W1 − s·mean W2', () => {
    const out = unlearnClassifier(W1, heads, { mode: 'class', alpha: 0.9, rule: 'mix', classScale: 1 });
    expect([...out.weight]).toEqual([0, 1, 2, 3]);
    expect([...out.bias]).toEqual([-1, -2]);
    expect([...unlearnClassifier(W1, heads, { mode: 'class', alpha: 0, rule: 'mix', classScale: 0.5 }).weight]).toEqual(
      [0.5, 1.5, 2.5, 3.5],
    );
  });

  it('re-anchoring: W2 ← (1−γ)·W1 + γ·W2', () => {
    const out = reanchor(heads[1], W1, 0.5);
    expect([...out.weight]).toEqual([1.5, 2, 2.5, 3]);
    expect([...out.bias]).toEqual([2.5, 0.5]);
  });
});
