// AssemblyScript: the filter gradient of an unpadded convolution with 8 or 16 output channels (LeNet's two layers),
// several neighbouring filter taps at a time:
//   dW[r, s + t, c, :] = Σ_n Σ_oh Σ_ow x[n, oh·sh + r, ow·sw + s + t, c] · dy[n, oh, ow, :]     t = 0 … T−1
// dy's vectors at one position are loaded once for T taps (5 taps × 2 vectors, or 2 taps × 4 vectors: ten or eight
// accumulators), where one tap at a time loads them again for every tap. Each output sums its terms in the order
// n, oh, ow: the same bytes on every run.
// Registers (kernels/README.md): V8 loads a step's operands before its multiply-adds, so five broadcast loads of x
// beside ten accumulators and two dy vectors needed 17 of the 15 registers it gives wasm, and three lived on the stack
// inside the loop. taps5x2 loads taps s … s+3 as one vector and broadcasts each lane with a shuffle, which V8 places
// just before its use: 0 spills, LeNet's conv1 filter gradient 2.7× as fast (1.52 → 0.56 ms at batch 128).

import { CI, DY, DYS, H, N0, N1, OH, OW, SH, SW, W, X } from './conv-geometry';
import { addLanes } from './lanes';
import { madd } from './madd';

/**
 * Adds taps s … s+4 of filter row r, input channel c, over the current tile's samples (conv-geometry.ts), to dW's
 * rows of `co` ≤ 8 floats at `out` (`outStep` bytes from one tap's row to the next); dy's positions are DYS = Cout
 * floats apart (conv-geometry.ts).
 */
export function taps5x2(out: usize, outStep: usize, r: i32, s: i32, c: i32, co: i32): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0);
  let c1 = f32x4.splat(0);
  let d0 = f32x4.splat(0);
  let d1 = f32x4.splat(0);
  let e0 = f32x4.splat(0);
  let e1 = f32x4.splat(0);
  const tap = (<usize>CI) << 2;
  const xStep = (<usize>(SW * CI)) << 2;
  const dyStep = (<usize>DYS) << 2;
  for (let i = N0; i < N1; i++) {
    for (let o = 0; o < OH; o++) {
      let xp = X + ((<usize>(((i * H + o * SH + r) * W + s) * CI + c)) << 2);
      let dp = DY + ((<usize>((i * OH + o) * OW * DYS)) << 2);
      for (let q = 0; q < OW; q++) {
        const g0 = v128.load(dp);
        const g1 = v128.load(dp, 16);
        const xv = tap === 4 ? v128.load(xp) : fourTaps(xp, tap);
        const x0 = i32x4.shuffle(xv, xv, 0, 0, 0, 0);
        a0 = madd(x0, g0, a0);
        a1 = madd(x0, g1, a1);
        const x1 = i32x4.shuffle(xv, xv, 1, 1, 1, 1);
        b0 = madd(x1, g0, b0);
        b1 = madd(x1, g1, b1);
        const x2 = i32x4.shuffle(xv, xv, 2, 2, 2, 2);
        c0 = madd(x2, g0, c0);
        c1 = madd(x2, g1, c1);
        const x3 = i32x4.shuffle(xv, xv, 3, 3, 3, 3);
        d0 = madd(x3, g0, d0);
        d1 = madd(x3, g1, d1);
        const x4 = v128.load32_splat(xp + 4 * tap);
        e0 = madd(x4, g0, e0);
        e1 = madd(x4, g1, e1);
        xp += xStep;
        dp += dyStep;
      }
    }
  }
  addTwo(out, a0, a1, co);
  addTwo(out + outStep, b0, b1, co);
  addTwo(out + 2 * outStep, c0, c1, co);
  addTwo(out + 3 * outStep, d0, d1, co);
  addTwo(out + 4 * outStep, e0, e1, co);
}

/** As taps5x2, for 16 output channels: taps s and s+1 of filter row r, four vectors each. */
export function taps2x4(out: usize, outStep: usize, r: i32, s: i32, c: i32): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let b2 = f32x4.splat(0);
  let b3 = f32x4.splat(0);
  const tap = (<usize>CI) << 2;
  const xStep = (<usize>(SW * CI)) << 2;
  const dyStep = (<usize>DYS) << 2;
  for (let i = N0; i < N1; i++) {
    for (let o = 0; o < OH; o++) {
      let xp = X + ((<usize>(((i * H + o * SH + r) * W + s) * CI + c)) << 2);
      let dp = DY + ((<usize>((i * OH + o) * OW * DYS)) << 2);
      for (let q = 0; q < OW; q++) {
        const x0 = v128.load32_splat(xp);
        const x1 = v128.load32_splat(xp + tap);
        let g = v128.load(dp);
        a0 = madd(x0, g, a0);
        b0 = madd(x1, g, b0);
        g = v128.load(dp, 16);
        a1 = madd(x0, g, a1);
        b1 = madd(x1, g, b1);
        g = v128.load(dp, 32);
        a2 = madd(x0, g, a2);
        b2 = madd(x1, g, b2);
        g = v128.load(dp, 48);
        a3 = madd(x0, g, a3);
        b3 = madd(x1, g, b3);
        xp += xStep;
        dp += dyStep;
      }
    }
  }
  addTwo(out, a0, a1, 8);
  addTwo(out + 32, a2, a3, 8);
  addTwo(out + outStep, b0, b1, 8);
  addTwo(out + outStep + 32, b2, b3, 8);
}

/** x at taps s … s+3 of one input channel, `tap` bytes apart, as one vector: where there are several channels. */
function fourTaps(p: usize, tap: usize): v128 {
  let v = v128.load32_zero(p);
  v = f32x4.replace_lane(v, 1, load<f32>(p + tap));
  v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * tap));
  return f32x4.replace_lane(v, 3, load<f32>(p + 3 * tap));
}

/** Adds the first `lanes` ≤ 8 lanes of two vectors to the floats at `p`. */
function addTwo(p: usize, v0: v128, v1: v128, lanes: i32): void {
  addLanes(p, v0, lanes);
  addLanes(p + 16, v1, lanes - 4);
}
