// AssemblyScript: the input gradient of a 2-D convolution (NHWC dy, [KH, KW, Cin, Cout] filter) on tfjs-wasm's heap,
// 128-bit SIMD, scattered from each dy position rather than gathered as a "full" convolution:
//   dx[n, oh·sh + kh − pt, ow·sw + kw − pl, ci] += Σ_co dy[n, oh, ow, co] · W[kh, kw, ci, co]
// For one dy position and one filter row kh, the KW·Cin terms land on KW·Cin consecutive floats of dx (kw and ci
// are adjacent in NHWC whatever the stride), so they are one small matrix product, a row of dy times the filter row
// reordered to [Cout][KW·Cin], added to dx as whole vectors. The "full" convolution instead multiplies the zeros it
// pads dy with: 2.25× the work on LeNet's conv2. Every dx float receives its terms in one fixed order (n, oh, ow, kh,
// then co inside each term), so the result is the same bytes on every run.

import { addLanes } from './lanes';
import { madd } from './madd';

/**
 * The filter reordered for the scatter: wt[kh][co][kw·Cin + ci] = W[kh, kw, ci, co], each row of KW·Cin floats
 * zero-padded to `kp`, a multiple of 16 floats (pairRow takes four vectors at a time).
 */
export function convInputGradFilter(w: usize, wt: usize, kh: i32, kw: i32, ci: i32, co: i32, kp: i32): void {
  memory.fill(wt, 0, (<usize>(kh * co * kp)) << 2);
  for (let r = 0; r < kh; r++)
    for (let s = 0; s < kw; s++)
      for (let c = 0; c < ci; c++)
        for (let o = 0; o < co; o++) {
          const from = w + ((<usize>(((r * kw + s) * ci + c) * co + o)) << 2);
          store<f32>(wt + ((<usize>((r * co + o) * kp + s * ci + c)) << 2), load<f32>(from));
        }
}

// The call's geometry, in globals so the blocks read it without arguments.
let WT: usize = 0;
let CO: i32 = 0;
let KP: i32 = 0;
/** Floats of one filter row's terms (KW·Cin): the last vector of a row adds only what is left of them. */
let K: i32 = 0;
/** Scratch of `kp` floats where a row clipped by the image's left or right border is spilled, then added by lane. */
let SPILL: usize = 0;

export function convInputGrad(
  dy: usize,
  wt: usize,
  dx: usize,
  spill: usize,
  n: i32,
  h: i32,
  w: i32,
  ci: i32,
  oh: i32,
  ow: i32,
  co: i32,
  kh: i32,
  kw: i32,
  kp: i32,
  sh: i32,
  sw: i32,
  pt: i32,
  pl: i32,
): void {
  WT = wt;
  CO = co;
  KP = kp;
  K = kw * ci;
  SPILL = spill;
  memory.fill(dx, 0, (<usize>(n * h * w * ci)) << 2);
  const dyStep = (<usize>co) << 2;
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < oh; o++) {
      const d0 = dy + ((<usize>((i * oh + o) * ow * co)) << 2);
      for (let q = 0; q < ow; ) {
        const d = d0 + <usize>q * dyStep;
        const x0 = q * sw - pl;
        // Two neighbouring positions whose rows are whole share every load of the filter.
        if (q + 1 < ow && x0 >= 0 && x0 + sw + kw <= w) {
          for (let r = 0; r < kh; r++) {
            const y = o * sh + r - pt;
            if (y < 0 || y >= h) continue;
            const out = dx + ((<usize>(((i * h + y) * w + x0) * ci)) << 2);
            pairRow(d, d + dyStep, r, out, out + ((<usize>(sw * ci)) << 2));
          }
          q += 2;
          continue;
        }
        // The filter columns whose input column is inside the image.
        const sLo = max(0, -x0);
        const sHi = min(kw, w - x0);
        for (let r = 0; r < kh; r++) {
          const y = o * sh + r - pt;
          if (y < 0 || y >= h) continue;
          const rowStart = (i * h + y) * w;
          if (sLo === 0 && sHi === kw) {
            fullRow(d, r, dx + ((<usize>((rowStart + x0) * ci)) << 2));
          } else if (sLo < sHi) {
            clippedRow(d, r, dx + ((<usize>((rowStart + x0 + sLo) * ci)) << 2), sLo * ci, sHi * ci);
          }
        }
        q++;
      }
    }
  }
}

/**
 * Two positions' terms for filter row r (both rows inside the image), 4 vectors of each at a time: eight
 * accumulators, and each filter vector loaded once for both. Position a's terms are added before b's, as when
 * they go one at a time, so the bytes are the same.
 */
function pairRow(da: usize, db: usize, r: i32, outA: usize, outB: usize): void {
  for (let v = 0; v < KP; v += 16) {
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0);
    let b1 = f32x4.splat(0);
    let b2 = f32x4.splat(0);
    let b3 = f32x4.splat(0);
    let wp = wtRow(r, v);
    const step = (<usize>KP) << 2;
    for (let o = 0; o < CO; o++) {
      const ga = v128.load32_splat(da + ((<usize>o) << 2));
      const gb = v128.load32_splat(db + ((<usize>o) << 2));
      const w0 = v128.load(wp);
      a0 = madd(ga, w0, a0);
      b0 = madd(gb, w0, b0);
      const w1 = v128.load(wp, 16);
      a1 = madd(ga, w1, a1);
      b1 = madd(gb, w1, b1);
      const w2 = v128.load(wp, 32);
      a2 = madd(ga, w2, a2);
      b2 = madd(gb, w2, b2);
      const w3 = v128.load(wp, 48);
      a3 = madd(ga, w3, a3);
      b3 = madd(gb, w3, b3);
      wp += step;
    }
    addFour(outA + ((<usize>v) << 2), a0, a1, a2, a3, K - v);
    addFour(outB + ((<usize>v) << 2), b0, b1, b2, b3, K - v);
  }
}

/** Adds up to 16 floats (four vectors, `left` of their lanes) to `out`. */
function addFour(out: usize, v0: v128, v1: v128, v2: v128, v3: v128, left: i32): void {
  addLanes(out, v0, left);
  addLanes(out + 16, v1, left - 4);
  addLanes(out + 32, v2, left - 8);
  addLanes(out + 48, v3, left - 12);
}

/**
 * One dy position's terms for filter row r, added to the K floats at `out`, a vector at a time: the positions that
 * have no neighbour to pair with (an odd last column), so rare that pairRow's register blocking is not worth a copy.
 */
function fullRow(d: usize, r: i32, out: usize): void {
  for (let v = 0; v < KP; v += 4) addLanes(out + ((<usize>v) << 2), block1(d, r, v), K - v);
}

/** A row whose first or last filter columns fall outside the image: computed whole, only [lo, hi) added. */
function clippedRow(d: usize, r: i32, out: usize, lo: i32, hi: i32): void {
  for (let v = 0; v < KP; v += 4) v128.store(SPILL + ((<usize>v) << 2), block1(d, r, v));
  for (let k = lo; k < hi; k++) {
    const p = out + ((<usize>(k - lo)) << 2);
    store<f32>(p, load<f32>(p) + load<f32>(SPILL + ((<usize>k) << 2)));
  }
}

/** The address of wt[r][0][v]; consecutive output channels are KP floats apart. */
function wtRow(r: i32, v: i32): usize {
  return WT + ((<usize>(r * CO * KP + v)) << 2);
}

/** One vector of one row's terms, summed over the output channels in order. */
function block1(d: usize, r: i32, v: i32): v128 {
  let a = f32x4.splat(0);
  let wp = wtRow(r, v);
  const step = (<usize>KP) << 2;
  for (let o = 0; o < CO; o++) {
    a = madd(v128.load32_splat(d + ((<usize>o) << 2)), v128.load(wp), a);
    wp += step;
  }
  return a;
}
