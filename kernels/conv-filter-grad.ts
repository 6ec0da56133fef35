// AssemblyScript: the filter gradient of a 2-D convolution (NHWC input, [KH, KW, Cin, Cout] filter), computed
// directly on tfjs-wasm's heap with 128-bit SIMD across output channels.
//   dW[kh, kw, ci, co] = Σ_n Σ_oh Σ_ow x[n, oh·sh + kh − pt, ow·sw + kw − pl, ci] · dy[n, oh, ow, co]
// Each output vector sums its terms in one fixed order (n, oh, then the even and the odd ow in two chains added at
// the end, which also hides the latency of the additions), so the result is the same bytes on every run.
// Nothing here allocates: the module has no heap of its own, only tfjs-wasm's memory, which it imports.

import { taps2x4, taps5x2 } from './conv-filter-grad-taps';
import { CI, COP, DY, DYS, H, N0, N1, OH, OW, SH, SW, setGeometry, setTile, W, X } from './conv-geometry';
import { addLanes } from './lanes';
import { madd } from './madd';

/** The rows and columns of dy whose input position is inside the image, and the input row and column at o = 0. */
let OH_LO: i32 = 0;
let OH_HI: i32 = 0;
let OW_LO: i32 = 0;
let OW_HI: i32 = 0;
let IH0: i32 = 0;
let IW0: i32 = 0;

export function convFilterGrad(
  x: usize,
  dy: usize,
  dw: usize,
  n: i32,
  h: i32,
  w: i32,
  ci: i32,
  oh: i32,
  ow: i32,
  co: i32,
  cop: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  pt: i32,
  pl: i32,
): void {
  setGeometry(x, dy, h, w, ci, oh, ow, co, cop, sh, sw);
  memory.fill(dw, 0, (<usize>(kh * kw * ci * co)) << 2);
  // Samples per tile: dy's rows for the tile fit in 16 kB.
  const tile = max(1, 4096 / (oh * ow * cop));
  for (let n0 = 0; n0 < n; n0 += tile) {
    setTile(n0, min(n, n0 + tile));
    taps(dw, kh, kw, co, pt, pl);
  }
}

/**
 * Adds the current tile's terms to every filter tap. Without padding, and with 8 or 16 output channels, several
 * taps of a filter row go at once (conv-filter-grad-taps.ts); otherwise one tap at a time.
 */
function taps(dw: usize, kh: i32, kw: i32, co: i32, pt: i32, pl: i32): void {
  const whole = pt === 0 && pl === 0 && (OH - 1) * SH + kh <= H && (OW - 1) * SW + kw <= W;
  const width = whole && COP === 8 ? 5 : whole && COP === 16 ? 2 : 0;
  if (width === 0) {
    for (let r = 0; r < kh; r++) for (let s = 0; s < kw; s++) oneTap(dw, r, s, kw, co, pt, pl);
    return;
  }
  const tapBytes = (<usize>(CI * co)) << 2;
  for (let r = 0; r < kh; r++) {
    let s = 0;
    for (; s + width <= kw; s += width) {
      for (let c = 0; c < CI; c++) {
        const out = dw + ((<usize>(((r * kw + s) * CI + c) * co)) << 2);
        if (width === 5) taps5x2(out, tapBytes, r, s, c, co);
        else taps2x4(out, tapBytes, r, s, c);
      }
    }
    for (; s < kw; s++) oneTap(dw, r, s, kw, co, pt, pl);
  }
}

/**
 * One filter tap, every input channel, the output channels 2 or 1 vectors at a time: two copies of one loop (block2,
 * block1) because their accumulators must be locals, which is what keeps them in registers; an array of accumulators
 * would live in memory.
 */
function oneTap(dw: usize, r: i32, s: i32, kw: i32, co: i32, pt: i32, pl: i32): void {
  OH_LO = max(0, ceilDiv(pt - r, SH));
  OH_HI = min(OH, floorDiv(H - 1 + pt - r, SH) + 1);
  IH0 = r - pt;
  OW_LO = max(0, ceilDiv(pl - s, SW));
  OW_HI = min(OW, floorDiv(W - 1 + pl - s, SW) + 1);
  IW0 = s - pl;
  for (let c = 0; c < CI; c++) {
    const out = dw + ((<usize>(((r * kw + s) * CI + c) * co)) << 2);
    let v = 0;
    // Two vectors at a time, not four: four (8 accumulators, 2 broadcasts of x, 8 dy vectors that V8 loads before
    // the multiply-adds) needed 18 of V8's 15 SIMD registers and kept 5 on the stack inside the loop.
    for (; v + 8 <= COP; v += 8) block2(c, v, out, co);
    for (; v < COP; v += 4) block1(c, v, out, co);
  }
}

function ceilDiv(a: i32, b: i32): i32 {
  return a >= 0 ? (a + b - 1) / b : -(-a / b);
}

function floorDiv(a: i32, b: i32): i32 {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/** The address of x[i, o·sh + IH0, OW_LO·sw + IW0, c]. */
function xRow(i: i32, o: i32, c: i32): usize {
  return X + ((<usize>(((i * H + o * SH + IH0) * W + OW_LO * SW + IW0) * CI + c)) << 2);
}

/** The address of dy[i, o, OW_LO, v]. */
function dyRow(i: i32, o: i32, v: i32): usize {
  return DY + ((<usize>(((i * OH + o) * OW + OW_LO) * DYS + v)) << 2);
}

function block2(c: i32, v: i32, out: usize, co: i32): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  const xStep = (<usize>(SW * CI)) << 2;
  const dyStep = (<usize>DYS) << 2;
  const pairs = (OW_HI - OW_LO) >> 1;
  const odd = (OW_HI - OW_LO) & 1;
  for (let i = N0; i < N1; i++) {
    for (let o = OH_LO; o < OH_HI; o++) {
      let xp = xRow(i, o, c);
      let dp = dyRow(i, o, v);
      for (let q = 0; q < pairs; q++) {
        const xa = f32x4.splat(load<f32>(xp));
        const xb = f32x4.splat(load<f32>(xp + xStep));
        const dq = dp + dyStep;
        a0 = madd(xa, v128.load(dp), a0);
        a1 = madd(xa, v128.load(dp, 16), a1);
        b0 = madd(xb, v128.load(dq), b0);
        b1 = madd(xb, v128.load(dq, 16), b1);
        xp += xStep << 1;
        dp += dyStep << 1;
      }
      if (odd) {
        const xa = f32x4.splat(load<f32>(xp));
        a0 = madd(xa, v128.load(dp), a0);
        a1 = madd(xa, v128.load(dp, 16), a1);
      }
    }
  }
  addLanes(out + ((<usize>v) << 2), f32x4.add(a0, b0), co - v);
  addLanes(out + ((<usize>(v + 4)) << 2), f32x4.add(a1, b1), co - v - 4);
}

function block1(c: i32, v: i32, out: usize, co: i32): void {
  let a0 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  const xStep = (<usize>(SW * CI)) << 2;
  const dyStep = (<usize>DYS) << 2;
  const pairs = (OW_HI - OW_LO) >> 1;
  const odd = (OW_HI - OW_LO) & 1;
  for (let i = N0; i < N1; i++) {
    for (let o = OH_LO; o < OH_HI; o++) {
      let xp = xRow(i, o, c);
      let dp = dyRow(i, o, v);
      for (let q = 0; q < pairs; q++) {
        const xa = f32x4.splat(load<f32>(xp));
        const xb = f32x4.splat(load<f32>(xp + xStep));
        a0 = madd(xa, v128.load(dp), a0);
        b0 = madd(xb, v128.load(dp + dyStep), b0);
        xp += xStep << 1;
        dp += dyStep << 1;
      }
      if (odd) a0 = madd(f32x4.splat(load<f32>(xp)), v128.load(dp), a0);
    }
  }
  addLanes(out + ((<usize>v) << 2), f32x4.add(a0, b0), co - v);
}
