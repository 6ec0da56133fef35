// AssemblyScript: the forward convolution of a layer with few channels (LeNet's conv2: 12×12×6 → 8×8×16, 5×5),
// stride 1, no padding, NHWC, directly on tfjs-wasm's heap with 128-bit SIMD across output channels:
//   y[n, oh, ow, :] = Σ_kh Σ_(kw, ci) x[n, oh + kh, ow + kw, ci] · W[kh, kw, ci, :]
// Along one filter row, (kw, ci) runs over KW·Cin consecutive floats of x and KW·Cin consecutive rows of W, so the
// sum is one long loop; two neighbouring output positions share every filter load (eight accumulators for 16
// output channels). XNNPACK instead builds an indirection buffer for every call and packs the filter for its GEMM.
// Each output sums its terms in the order kh, kw, ci: the same bytes on every run.

import { madd } from './madd';

// The call's geometry, in globals so the blocks read it without arguments.
let WF: usize = 0;
let IW: i32 = 0;
let CI: i32 = 0;
let CO: i32 = 0;
let KH: i32 = 0;
let KW: i32 = 0;

/** Cout must be a multiple of 4 (the blocks are 16 channels, then 4). */
export function convForwardDirect(
  x: usize,
  w: usize,
  y: usize,
  n: i32,
  h: i32,
  iw: i32,
  ci: i32,
  oh: i32,
  ow: i32,
  co: i32,
  kh: i32,
  kw: i32,
): void {
  WF = w;
  IW = iw;
  CI = ci;
  CO = co;
  KH = kh;
  KW = kw;
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < oh; o++) {
      const xRow = x + ((<usize>((i * h + o) * iw * ci)) << 2);
      const yRow = y + ((<usize>((i * oh + o) * ow * co)) << 2);
      for (let q = 0; q < ow; q += 2) {
        const xp = xRow + ((<usize>(q * ci)) << 2);
        const yp = yRow + ((<usize>(q * co)) << 2);
        const pair = q + 1 < ow;
        let v = 0;
        for (; v + 16 <= co; v += 16) {
          if (pair) pair16(xp, yp, v);
          else single(xp, yp, v, 16);
        }
        for (; v < co; v += 4) {
          single(xp, yp, v, 4);
          if (pair) single(xp + ((<usize>ci) << 2), yp + ((<usize>co) << 2), v, 4);
        }
      }
    }
  }
}

/** Output channels v … v+15 of the positions at xp and the next one. */
function pair16(xp: usize, yp: usize, v: i32): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let b2 = f32x4.splat(0);
  let b3 = f32x4.splat(0);
  const run = KW * CI;
  const next = (<usize>CI) << 2;
  const wStep = (<usize>CO) << 2;
  for (let r = 0; r < KH; r++) {
    let xa = xp + ((<usize>(r * IW * CI)) << 2);
    let wp = WF + ((<usize>(r * run * CO + v)) << 2);
    for (let t = 0; t < run; t++) {
      const ga = v128.load32_splat(xa);
      const gb = v128.load32_splat(xa + next);
      let f = v128.load(wp);
      a0 = madd(ga, f, a0);
      b0 = madd(gb, f, b0);
      f = v128.load(wp, 16);
      a1 = madd(ga, f, a1);
      b1 = madd(gb, f, b1);
      f = v128.load(wp, 32);
      a2 = madd(ga, f, a2);
      b2 = madd(gb, f, b2);
      f = v128.load(wp, 48);
      a3 = madd(ga, f, a3);
      b3 = madd(gb, f, b3);
      xa += 4;
      wp += wStep;
    }
  }
  const ya = yp + ((<usize>v) << 2);
  v128.store(ya, a0);
  v128.store(ya, a1, 16);
  v128.store(ya, a2, 32);
  v128.store(ya, a3, 48);
  const yb = ya + ((<usize>CO) << 2);
  v128.store(yb, b0);
  v128.store(yb, b1, 16);
  v128.store(yb, b2, 32);
  v128.store(yb, b3, 48);
}

/** Output channels v … v+width−1 (width 4 or 16) of the position at xp alone, one vector at a time. */
function single(xp: usize, yp: usize, v: i32, width: i32): void {
  const run = KW * CI;
  const wStep = (<usize>CO) << 2;
  for (let u = v; u < v + width; u += 4) {
    let a = f32x4.splat(0);
    for (let r = 0; r < KH; r++) {
      let xa = xp + ((<usize>(r * IW * CI)) << 2);
      let wp = WF + ((<usize>(r * run * CO + u)) << 2);
      for (let t = 0; t < run; t++) {
        a = madd(v128.load32_splat(xa), v128.load(wp), a);
        xa += 4;
        wp += wStep;
      }
    }
    v128.store(yp + ((<usize>u) << 2), a);
  }
}
