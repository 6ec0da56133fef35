// AssemblyScript: C = A·B (+ bias, optionally through a ReLU) for the dense layers and, with im2col, the wide
// convolutions, on tfjs-wasm's heap with 128-bit SIMD. A is read through strides, so a transposed A costs nothing;
// B comes packed by packB, panel by panel of 8 columns, each panel [K × 8] contiguous (the padding past N zero).
// Register tiles of 4 rows × 8 columns (eight accumulators); the tiles go column panel by column panel, so one panel
// of B stays in the cache while every row of A passes over it. Why 4 rows and not 6: V8 loads a step's A values
// before its multiply-adds, so a tile needs accumulators + 2 B vectors + its rows of A in registers, and x64 gives
// wasm 15 (V8 keeps xmm15 as scratch). 4×8 needs 14; a 6×8 tile needed 20, and V8 kept five of them on the stack
// inside the loop, which halved the speed (12 against 24 G multiply-adds/s on one Zen 5 core: see kernels/README).
// Each output sums its K terms in order, then adds the bias: the same bytes on every run.

import { addLanes, storeLanes } from './lanes';
import { madd } from './madd';

// The call's operands, in globals so the tiles read them without arguments.
let A: usize = 0;
let B: usize = 0;
let C: usize = 0;
let BIAS: usize = 0;
let RELU: bool = false;
let ACCUMULATE: bool = false;
/** A's strides in floats: A[i, k] is at A + (i·RS + k·CS)·4. */
let RS: i32 = 0;
let CS: i32 = 0;
let K: i32 = 0;
let N: i32 = 0;

/**
 * `bias` = 0: none. `relu` ≠ 0: max(0, ·) after the bias. `accumulate` ≠ 0: C += A·B (the product summed first, then
 * added), how a convolution's filter gradient sums its blocks of output positions.
 */
export function gemm(
  a: usize,
  b: usize,
  c: usize,
  bias: usize,
  m: i32,
  n: i32,
  k: i32,
  rowStride: i32,
  colStride: i32,
  relu: i32,
  accumulate: i32,
): void {
  A = a;
  B = b;
  C = c;
  BIAS = bias;
  RELU = relu !== 0;
  ACCUMULATE = accumulate !== 0;
  RS = rowStride;
  CS = colStride;
  K = k;
  N = n;
  for (let j = 0; j < n; j += 8) {
    let i = 0;
    for (; i + 4 <= m; i += 4) tile4(i, j);
    for (; i < m; i++) tile1(i, j);
  }
}

/** Rows i … i+3, columns j … j+7 (those < N). */
function tile4(i: i32, j: i32): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0);
  let c1 = f32x4.splat(0);
  let d0 = f32x4.splat(0);
  let d1 = f32x4.splat(0);
  let ap = A + ((<usize>(i * RS)) << 2);
  const rs = (<usize>RS) << 2;
  const cs = (<usize>CS) << 2;
  let bp = B + <usize>(j >> 3) * <usize>K * 32;
  const bs: usize = 32;
  for (let k = 0; k < K; k++) {
    const lo = v128.load(bp);
    const hi = v128.load(bp, 16);
    let x = v128.load32_splat(ap);
    a0 = madd(x, lo, a0);
    a1 = madd(x, hi, a1);
    x = v128.load32_splat(ap + rs);
    b0 = madd(x, lo, b0);
    b1 = madd(x, hi, b1);
    x = v128.load32_splat(ap + 2 * rs);
    c0 = madd(x, lo, c0);
    c1 = madd(x, hi, c1);
    x = v128.load32_splat(ap + 3 * rs);
    d0 = madd(x, lo, d0);
    d1 = madd(x, hi, d1);
    ap += cs;
    bp += bs;
  }
  finish(i, j, a0, a1);
  finish(i + 1, j, b0, b1);
  finish(i + 2, j, c0, c1);
  finish(i + 3, j, d0, d1);
}

/** Row i, columns j … j+7 (those < N): the rows past the last whole tile of 4. */
function tile1(i: i32, j: i32): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let ap = A + ((<usize>(i * RS)) << 2);
  const cs = (<usize>CS) << 2;
  let bp = B + <usize>(j >> 3) * <usize>K * 32;
  const bs: usize = 32;
  for (let k = 0; k < K; k++) {
    const x = v128.load32_splat(ap);
    a0 = madd(x, v128.load(bp), a0);
    a1 = madd(x, v128.load(bp, 16), a1);
    ap += cs;
    bp += bs;
  }
  finish(i, j, a0, a1);
}

/** Adds the bias, applies the ReLU and stores (or adds) the columns of row i from j that are < N. */
function finish(i: i32, j: i32, lo: v128, hi: v128): void {
  const out = C + ((<usize>(i * N + j)) << 2);
  if (ACCUMULATE) {
    addLanes(out, activate(lo, j), N - j);
    addLanes(out + 16, activate(hi, j + 4), N - j - 4);
    return;
  }
  storeLanes(out, activate(lo, j), N - j);
  storeLanes(out + 16, activate(hi, j + 4), N - j - 4);
}

function activate(v: v128, j: i32): v128 {
  let r = v;
  if (BIAS && j < N) r = f32x4.add(r, biasAt(j));
  if (RELU) r = f32x4.max(r, f32x4.splat(0));
  return r;
}

/** bias[j … j+3], zero past N (the bias is not padded). */
function biasAt(j: i32): v128 {
  if (j + 4 <= N) return v128.load(BIAS + ((<usize>j) << 2));
  let v = f32x4.splat(0);
  const p = BIAS + ((<usize>j) << 2);
  if (j < N) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (j + 1 < N) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (j + 2 < N) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/**
 * B as gemm reads it: panel by panel of 8 columns, each panel [K × 8] contiguous (the padding past N zero), from a
 * [K × N] matrix or (transposed ≠ 0) from an [N × K] one, which is how the gradient with respect to a dense layer's
 * input uses its weights. A panel read in order streams through the cache; read in place, its rows are N floats
 * apart and fall into few cache sets.
 */
export function packB(src: usize, dst: usize, k: i32, n: i32, np: i32, transposed: i32): void {
  for (let j0 = 0; j0 < np; j0 += 8) {
    let out = dst + <usize>(j0 >> 3) * <usize>k * 32;
    if (!transposed && j0 + 8 <= n) {
      // A whole panel of a [K × N] matrix: each of its rows is 8 consecutive floats.
      let from = src + ((<usize>j0) << 2);
      const rowBytes = (<usize>n) << 2;
      for (let r = 0; r < k; r++) {
        v128.store(out, v128.load(from));
        v128.store(out, v128.load(from, 16), 16);
        from += rowBytes;
        out += 32;
      }
      continue;
    }
    for (let r = 0; r < k; r++) {
      for (let j = j0; j < j0 + 8; j++) {
        const at = transposed ? j * k + r : r * n + j;
        store<f32>(out + ((<usize>(j - j0)) << 2), j < n ? load<f32>(src + ((<usize>at) << 2)) : 0);
      }
      out += 32;
    }
  }
}
