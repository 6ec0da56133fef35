// AssemblyScript: y = relu(maxPool2×2(x) + bias) in one pass over tfjs-wasm's heap (NHWC, stride 2, no padding; an
// odd last row or column belongs to no window), 128-bit SIMD across channels. The composition it replaces ran three
// kernels and wrote two intermediate tensors; the max, one addition and the clamp are exact in any order, so the
// result is the same bytes as the composition's.

export function poolBiasRelu(x: usize, bias: usize, y: usize, n: i32, h: i32, w: i32, c: i32): void {
  const oh = h >> 1;
  const ow = w >> 1;
  const row = (<usize>(w * c)) << 2;
  const col = (<usize>c) << 2;
  const zero = f32x4.splat(0);
  let o = y;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < oh; p++) {
      let base = x + ((<usize>((i * h + 2 * p) * w * c)) << 2);
      for (let q = 0; q < ow; q++) {
        let k = 0;
        for (; k + 4 <= c; k += 4) {
          const at = base + ((<usize>k) << 2);
          const m = f32x4.max(
            f32x4.max(v128.load(at), v128.load(at + col)),
            f32x4.max(v128.load(at + row), v128.load(at + row + col)),
          );
          v128.store(o, f32x4.max(f32x4.add(m, v128.load(bias + ((<usize>k) << 2))), zero));
          o += 16;
        }
        // A partial last vector (LeNet's 6 channels): the last four channels again; the stores overlap with the
        // same values.
        if (k < c && c >= 4) {
          const at = base + ((<usize>(c - 4)) << 2);
          const m = f32x4.max(
            f32x4.max(v128.load(at), v128.load(at + col)),
            f32x4.max(v128.load(at + row), v128.load(at + row + col)),
          );
          v128.store(
            o - ((<usize>(4 - (c - k))) << 2),
            f32x4.max(f32x4.add(m, v128.load(bias + ((<usize>(c - 4)) << 2))), zero),
          );
          o += (<usize>(c - k)) << 2;
          k = c;
        }
        for (; k < c; k++) {
          const at = base + ((<usize>k) << 2);
          const m = max(max(load<f32>(at), load<f32>(at + col)), max(load<f32>(at + row), load<f32>(at + row + col)));
          store<f32>(o, max(m + load<f32>(bias + ((<usize>k) << 2)), 0));
          o += 4;
        }
        base += col << 1;
      }
    }
  }
}
