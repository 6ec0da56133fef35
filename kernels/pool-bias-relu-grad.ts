// AssemblyScript: the gradient of y = relu(maxPool2×2(x) + bias) in one pass over tfjs-wasm's heap, 128-bit SIMD
// across channels. Where the ReLU is open, dy goes to the first maximum of its window; dbias sums it per channel
// in float64, position by position (the same order, hence the same bytes, as a scalar loop). Branch-free: the ReLU
// and the argmax are lane masks.

export function poolBiasReluGrad(
  dy: usize,
  x: usize,
  y: usize,
  dx: usize,
  db: usize,
  sums: usize,
  n: i32,
  h: i32,
  w: i32,
  c: i32,
): void {
  const oh = h >> 1;
  const ow = w >> 1;
  // An odd last row or column belongs to no window: its gradient is zero.
  if (oh * 2 !== h || ow * 2 !== w) memory.fill(dx, 0, (<usize>(n * h * w * c)) << 2);
  memory.fill(sums, 0, (<usize>c) << 3);
  const row = (<usize>(w * c)) << 2;
  const col = (<usize>c) << 2;
  let o: usize = 0;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < oh; p++) {
      for (let q = 0; q < ow; q++) {
        const base = (<usize>(((i * h + 2 * p) * w + 2 * q) * c)) << 2;
        let k = 0;
        for (; k + 4 <= c; k += 4) {
          const at = (<usize>k) << 2;
          const v = v128.and(v128.load(dy + o + at), f32x4.gt(v128.load(y + o + at), f32x4.splat(0)));
          const s = sums + ((<usize>k) << 3);
          v128.store(s, f64x2.add(v128.load(s), f64x2.promote_low_f32x4(v)));
          const high = i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
          v128.store(s, f64x2.add(v128.load(s, 16), f64x2.promote_low_f32x4(high)), 16);
          windowGrad(x + base + at, dx + base + at, v, row, col);
        }
        // A partial last vector (LeNet's 6 channels): the last four channels again, the ones already done masked out
        // of the sums (adding +0 leaves a sum as it is); their dx is stored again with the same values.
        if (k < c && c >= 4) {
          const at = (<usize>(c - 4)) << 2;
          const v = v128.and(v128.load(dy + o + at), f32x4.gt(v128.load(y + o + at), f32x4.splat(0)));
          const fresh = v128.and(v, tailMask(c - k));
          const s = sums + ((<usize>(c - 4)) << 3);
          v128.store(s, f64x2.add(v128.load(s), f64x2.promote_low_f32x4(fresh)));
          const high = i8x16.shuffle(fresh, fresh, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
          v128.store(s, f64x2.add(v128.load(s, 16), f64x2.promote_low_f32x4(high)), 16);
          windowGrad(x + base + at, dx + base + at, v, row, col);
          k = c;
        }
        for (; k < c; k++) {
          const at = (<usize>k) << 2;
          const g = load<f32>(y + o + at) > 0 ? load<f32>(dy + o + at) : 0;
          const s = sums + ((<usize>k) << 3);
          store<f64>(s, load<f64>(s) + <f64>g);
          const p0 = x + base + at;
          const x0 = load<f32>(p0);
          const x1 = load<f32>(p0 + col);
          const x2 = load<f32>(p0 + row);
          const x3 = load<f32>(p0 + row + col);
          const m = max(max(x0, x1), max(x2, x3));
          const d0 = dx + base + at;
          const t0 = x0 === m;
          const t1 = !t0 && x1 === m;
          const t2 = !t0 && !t1 && x2 === m;
          store<f32>(d0, t0 ? g : 0);
          store<f32>(d0 + col, t1 ? g : 0);
          store<f32>(d0 + row, t2 ? g : 0);
          store<f32>(d0 + row + col, !t0 && !t1 && !t2 ? g : 0);
        }
        o += col;
      }
    }
  }
  for (let k = 0; k < c; k++) store<f32>(db + ((<usize>k) << 2), <f32>load<f64>(sums + ((<usize>k) << 3)));
}

/** Sends v to the first maximum of each lane's 2×2 window at p0 (x), zero to the other three (dx at d0). */
function windowGrad(p0: usize, d0: usize, v: v128, row: usize, col: usize): void {
  const x0 = v128.load(p0);
  const x1 = v128.load(p0 + col);
  const x2 = v128.load(p0 + row);
  const x3 = v128.load(p0 + row + col);
  const m = f32x4.max(f32x4.max(x0, x1), f32x4.max(x2, x3));
  const a0 = f32x4.eq(x0, m);
  const a1 = v128.andnot(f32x4.eq(x1, m), a0);
  const taken = v128.or(a0, a1);
  const a2 = v128.andnot(f32x4.eq(x2, m), taken);
  const a3 = v128.not(v128.or(taken, a2));
  v128.store(d0, v128.and(v, a0));
  v128.store(d0 + col, v128.and(v, a1));
  v128.store(d0 + row, v128.and(v, a2));
  v128.store(d0 + row + col, v128.and(v, a3));
}

/** All ones in the last `fresh` lanes (1 … 3), zero in the others. */
function tailMask(fresh: i32): v128 {
  const lane = i32x4(0, 1, 2, 3);
  return i32x4.ge_s(lane, i32x4.splat(4 - fresh));
}
