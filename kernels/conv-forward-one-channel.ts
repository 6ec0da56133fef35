// AssemblyScript: the forward convolution of a one-channel image (LeNet's first layer: 28×28×1 → 24×24×6, 5×5),
// stride 1, no padding, NHWC, on tfjs-wasm's heap with 128-bit SIMD across 8 neighbouring output pixels:
//   y[n, oh, ow, co] = Σ_kh Σ_kw x[n, oh + kh, ow + kw] · W[kh, kw, 0, co]
// With one input channel, the input under 8 neighbouring outputs at one filter tap is 8 consecutive floats (two
// vector loads), and each output channel's weight is one broadcast: no zero padding and no patch matrix, which is
// what a GEMM-shaped convolution pays for Cin = 1. Each output sums its 25 terms in tap order: the same bytes on
// every run.

import { madd } from './madd';

// The call's geometry, in globals so the blocks read it without arguments.
let W: usize = 0;
let IW: i32 = 0;
let CO: i32 = 0;
let KH: i32 = 0;
let KW: i32 = 0;

export function convForwardOneChannel(
  x: usize,
  w: usize,
  y: usize,
  n: i32,
  h: i32,
  iw: i32,
  oh: i32,
  ow: i32,
  co: i32,
  kh: i32,
  kw: i32,
): void {
  W = w;
  IW = iw;
  CO = co;
  KH = kh;
  KW = kw;
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < oh; o++) {
      const xRow = x + ((<usize>((i * h + o) * iw)) << 2);
      const yRow = y + ((<usize>((i * oh + o) * ow * co)) << 2);
      let q = 0;
      for (; q + 8 <= ow; q += 8) {
        const xp = xRow + ((<usize>q) << 2);
        const yp = yRow + ((<usize>(q * co)) << 2);
        let c = 0;
        // Blocks of 3 until what is left is whole blocks of 4 (Cout = 6: two blocks of 3, 0.79 -> 0.66 ms at batch
        // 128): a block of one channel has only two chains of multiply-adds, each waiting on its last; three have six.
        for (; c + 3 <= co && (co - c) % 4 !== 0; c += 3) block3(xp, yp, c);
        for (; c + 4 <= co; c += 4) block4(xp, yp, c);
        for (; c < co; c++) block1(xp, yp, c);
      }
      for (; q < ow; q++) scalarPixel(xRow + ((<usize>q) << 2), yRow + ((<usize>(q * co)) << 2));
    }
  }
}

/** The address of W[r, s, 0, c]. */
function wAt(r: i32, s: i32, c: i32): usize {
  return W + ((<usize>((r * KW + s) * CO + c)) << 2);
}

/** Output channels c..c+3 of 8 pixels: eight accumulators (channel × half), each filter tap's inputs loaded once. */
function block4(xp: usize, yp: usize, c: i32): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let b2 = f32x4.splat(0);
  let b3 = f32x4.splat(0);
  for (let r = 0; r < KH; r++) {
    let xr = xp + ((<usize>(r * IW)) << 2);
    let wp = wAt(r, 0, c);
    const wStep = (<usize>CO) << 2;
    for (let s = 0; s < KW; s++) {
      const lo = v128.load(xr);
      const hi = v128.load(xr, 16);
      const g0 = v128.load32_splat(wp);
      a0 = madd(lo, g0, a0);
      b0 = madd(hi, g0, b0);
      const g1 = v128.load32_splat(wp, 4);
      a1 = madd(lo, g1, a1);
      b1 = madd(hi, g1, b1);
      const g2 = v128.load32_splat(wp, 8);
      a2 = madd(lo, g2, a2);
      b2 = madd(hi, g2, b2);
      const g3 = v128.load32_splat(wp, 12);
      a3 = madd(lo, g3, a3);
      b3 = madd(hi, g3, b3);
      xr += 4;
      wp += wStep;
    }
  }
  scatter(yp + ((<usize>c) << 2), a0, b0);
  scatter(yp + ((<usize>(c + 1)) << 2), a1, b1);
  scatter(yp + ((<usize>(c + 2)) << 2), a2, b2);
  scatter(yp + ((<usize>(c + 3)) << 2), a3, b3);
}

/** Output channels c..c+2 of 8 pixels: six accumulators, as block4. */
function block3(xp: usize, yp: usize, c: i32): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let b2 = f32x4.splat(0);
  for (let r = 0; r < KH; r++) {
    let xr = xp + ((<usize>(r * IW)) << 2);
    let wp = wAt(r, 0, c);
    const wStep = (<usize>CO) << 2;
    for (let s = 0; s < KW; s++) {
      const lo = v128.load(xr);
      const hi = v128.load(xr, 16);
      const g0 = v128.load32_splat(wp);
      a0 = madd(lo, g0, a0);
      b0 = madd(hi, g0, b0);
      const g1 = v128.load32_splat(wp, 4);
      a1 = madd(lo, g1, a1);
      b1 = madd(hi, g1, b1);
      const g2 = v128.load32_splat(wp, 8);
      a2 = madd(lo, g2, a2);
      b2 = madd(hi, g2, b2);
      xr += 4;
      wp += wStep;
    }
  }
  scatter(yp + ((<usize>c) << 2), a0, b0);
  scatter(yp + ((<usize>(c + 1)) << 2), a1, b1);
  scatter(yp + ((<usize>(c + 2)) << 2), a2, b2);
}

/** One output channel of 8 pixels (what is left of Cout after the blocks of 4). */
function block1(xp: usize, yp: usize, c: i32): void {
  let a = f32x4.splat(0);
  let b = f32x4.splat(0);
  for (let r = 0; r < KH; r++) {
    let xr = xp + ((<usize>(r * IW)) << 2);
    let wp = wAt(r, 0, c);
    const wStep = (<usize>CO) << 2;
    for (let s = 0; s < KW; s++) {
      const g = v128.load32_splat(wp);
      a = madd(v128.load(xr), g, a);
      b = madd(v128.load(xr, 16), g, b);
      xr += 4;
      wp += wStep;
    }
  }
  scatter(yp + ((<usize>c) << 2), a, b);
}

/** One channel of 8 pixels (lanes of `a`, then of `b`) to its NHWC places, Cout floats apart. */
function scatter(p: usize, a: v128, b: v128): void {
  const step = (<usize>CO) << 2;
  v128.store32_lane(p, a, 0);
  v128.store32_lane(p + step, a, 1);
  v128.store32_lane(p + 2 * step, a, 2);
  v128.store32_lane(p + 3 * step, a, 3);
  v128.store32_lane(p + 4 * step, b, 0);
  v128.store32_lane(p + 5 * step, b, 1);
  v128.store32_lane(p + 6 * step, b, 2);
  v128.store32_lane(p + 7 * step, b, 3);
}

/** A pixel past the last whole block of 8: every channel, scalar, in the same tap order. */
function scalarPixel(xp: usize, yp: usize): void {
  for (let c = 0; c < CO; c++) {
    let sum: f32 = 0;
    for (let r = 0; r < KH; r++)
      for (let s = 0; s < KW; s++) sum += load<f32>(xp + ((<usize>(r * IW + s)) << 2)) * load<f32>(wAt(r, s, c));
    store<f32>(yp + ((<usize>c) << 2), sum);
  }
}
