import type { Weights } from '../../artifacts/model.ts';
import { Rng } from '../../core/rng.ts';

/** How a parameter starts (PyTorch's defaults, which the reference relies on). */
export type Init =
  | { kind: 'uniform'; fanIn: number } // U(±1/√fan_in): nn.Linear and nn.Conv2d weights and biases
  | { kind: 'kaimingNormalFanOut'; fanOut: number } // N(0, 2/fan_out): the reference AlexNet's convolutions
  | { kind: 'constant'; value: number };

export interface ParamSpec {
  name: string;
  shape: number[];
  init: Init;
  /** Buffers (BatchNorm running statistics) are averaged by FedAvg but never trained. */
  buffer?: boolean;
}

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Seeded initial values: the same seed gives the same model on every machine and backend. */
export function initWeights(specs: ParamSpec[], seed: number): Weights {
  return specs.map((spec) => {
    const rng = new Rng(seed, `init:${spec.name}`);
    const out = new Float32Array(sizeOf(spec.shape));
    const init = spec.init;
    if (init.kind === 'constant') out.fill(init.value);
    else if (init.kind === 'uniform') {
      const bound = 1 / Math.sqrt(init.fanIn);
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-bound, bound);
    } else {
      const std = Math.sqrt(2 / init.fanOut);
      for (let i = 0; i < out.length; i++) out[i] = std * rng.normal();
    }
    return out;
  });
}

/** Concatenates weights into one buffer (for workers and artifacts) and back. */
export function flattenWeights(w: Weights): Float32Array {
  const out = new Float32Array(w.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of w) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

export function unflattenWeights(flat: Float32Array, specs: ParamSpec[]): Weights {
  let o = 0;
  return specs.map((s) => {
    const n = sizeOf(s.shape);
    const a = flat.slice(o, o + n);
    o += n;
    return a;
  });
}

export function countParams(specs: ParamSpec[], opts: { includeBuffers?: boolean } = {}): number {
  return specs.filter((s) => opts.includeBuffers || !s.buffer).reduce((n, s) => n + sizeOf(s.shape), 0);
}
