// AssemblyScript: the patch matrix of a 2-D convolution (NHWC input, [KH, KW, Cin, Cout] filter), a block of rows at
// a time, for the wide layers' forward pass as one GEMM (src/ml/kernels/wasm/conv2d-gemm.ts):
//   cols[p − p0, (r·KW + s)·Cin + c] = x[n, o·sh + r − pt, q·sw + s − pl, c]     (0 outside the image)
// for the output positions p = (n·OH + o)·OW + q in p0 … p0+rows−1. Row p of cols times the filter, read as a
// [KH·KW·Cin × Cout] matrix (which it already is), is y's row p. A filter row's taps inside the image are
// consecutive columns of x (the stride spaces output positions, not taps): one copy of their channels.

export function im2col(
  x: usize,
  cols: usize,
  h: i32,
  w: i32,
  c: i32,
  oh: i32,
  ow: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  pt: i32,
  pl: i32,
  p0: i32,
  rows: i32,
): void {
  const tapBytes = (<usize>c) << 2;
  let out = cols;
  for (let p = p0; p < p0 + rows; p++) {
    const n = p / (oh * ow);
    const o = (p / ow) % oh;
    const q = p % ow;
    const iw0 = q * sw - pl;
    // The taps s whose column is inside the image: sLo ≤ s < sHi.
    const sLo = max(0, -iw0);
    const sHi = min(kw, w - iw0);
    for (let r = 0; r < kh; r++) {
      const ih = o * sh + r - pt;
      if (ih < 0 || ih >= h || sLo >= sHi) {
        memory.fill(out, 0, tapBytes * kw);
        out += tapBytes * kw;
        continue;
      }
      if (sLo > 0) memory.fill(out, 0, tapBytes * sLo);
      const from = x + ((<usize>(((n * h + ih) * w + iw0 + sLo) * c)) << 2);
      memory.copy(out + tapBytes * sLo, from, tapBytes * (sHi - sLo));
      if (sHi < kw) memory.fill(out + tapBytes * sHi, 0, tapBytes * (kw - sHi));
      out += tapBytes * kw;
    }
  }
}

/**
 * The adjoint of im2col, for the wide layers' input gradient (src/ml/kernels/wasm/conv2d-gemm-grad.ts): adds each
 * row of dcols (a block of output positions' patch gradients, dy·Wᵀ) back where im2col read it,
 *   dx[n, o·sh + r − pt, q·sw + s − pl, c] += dcols[p − p0, (r·KW + s)·Cin + c]     (taps inside the image only)
 * dx must start at zero. Positions go in order, and within one its taps: each element of dx sums its terms in one
 * fixed order, the same bytes on every run.
 */
export function col2im(
  dcols: usize,
  dx: usize,
  h: i32,
  w: i32,
  c: i32,
  oh: i32,
  ow: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  pt: i32,
  pl: i32,
  p0: i32,
  rows: i32,
): void {
  const tapBytes = (<usize>c) << 2;
  let from = dcols;
  for (let p = p0; p < p0 + rows; p++) {
    const n = p / (oh * ow);
    const o = (p / ow) % oh;
    const q = p % ow;
    const iw0 = q * sw - pl;
    const sLo = max(0, -iw0);
    const sHi = min(kw, w - iw0);
    for (let r = 0; r < kh; r++) {
      const ih = o * sh + r - pt;
      if (ih >= 0 && ih < h && sLo < sHi) {
        const to = dx + ((<usize>(((n * h + ih) * w + iw0 + sLo) * c)) << 2);
        addFloats(to, from + tapBytes * sLo, (sHi - sLo) * c);
      }
      from += tapBytes * kw;
    }
  }
}

/** to[0 … count−1] += from[0 … count−1], 4 at a time. */
function addFloats(to: usize, from: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const at = (<usize>i) << 2;
    v128.store(to + at, f32x4.add(v128.load(to + at), v128.load(from + at)));
  }
  for (; i < count; i++) {
    const at = (<usize>i) << 2;
    store<f32>(to + at, load<f32>(to + at) + load<f32>(from + at));
  }
}
