// AssemblyScript: training-mode BatchNorm over the rows of an NHWC tensor seen as [rows, C] (ResNet18), in the
// operations tfjs's composition makes and in their order, so each result is the same float32 bytes as the
// composition's (src/ml/models/ops.ts, batchNormTrainOp), in three passes forward and two backward instead of
// eight and ten full-size tensors. No fused multiply-add here: each product and sum is rounded on its own, as the
// composition's separate kernels round them. Channels go four at a time, each channel's sums in row order from 0.

/** variance[c] = (Σ_r (x[r, c] − mean[c])²) / rows: tf.moments' squared difference and mean. */
export function bnVariance(x: usize, mean: usize, variance: usize, rows: i32, c: i32): void {
  const rowBytes = (<usize>c) << 2;
  const count = f32x4.splat(<f32>rows);
  let k = 0;
  for (; k + 4 <= c; k += 4) {
    const m = v128.load(mean + ((<usize>k) << 2));
    let s = f32x4.splat(0);
    let p = x + ((<usize>k) << 2);
    for (let r = 0; r < rows; r++) {
      const d = f32x4.sub(v128.load(p), m);
      s = f32x4.add(s, f32x4.mul(d, d));
      p += rowBytes;
    }
    v128.store(variance + ((<usize>k) << 2), f32x4.div(s, count));
  }
  for (; k < c; k++) {
    const m = load<f32>(mean + ((<usize>k) << 2));
    let s: f32 = 0;
    let p = x + ((<usize>k) << 2);
    for (let r = 0; r < rows; r++) {
      const d = load<f32>(p) - m;
      s += d * d;
      p += rowBytes;
    }
    store<f32>(variance + ((<usize>k) << 2), s / <f32>rows);
  }
}

/** y = ((x − mean)·inv)·gamma + beta, per channel. */
export function bnApply(x: usize, mean: usize, inv: usize, gamma: usize, beta: usize, y: usize, n: i32, c: i32): void {
  for (let k = 0; k < c; k += 4) {
    const at = (<usize>k) << 2;
    const m = v128.load(mean + at);
    const s = v128.load(inv + at);
    const g = v128.load(gamma + at);
    const b = v128.load(beta + at);
    let i = at;
    if (k + 4 <= c) {
      for (let r = 0; r < n; r++) {
        v128.store(y + i, f32x4.add(f32x4.mul(f32x4.mul(f32x4.sub(v128.load(x + i), m), s), g), b));
        i += (<usize>c) << 2;
      }
      continue;
    }
    for (let j = k; j < c; j++) {
      const o = (<usize>j) << 2;
      const mj = load<f32>(mean + o);
      const sj = load<f32>(inv + o);
      const gj = load<f32>(gamma + o);
      const bj = load<f32>(beta + o);
      for (let r = 0; r < n; r++) {
        const q = (<usize>r * <usize>c + <usize>j) << 2;
        store<f32>(y + q, (load<f32>(x + q) - mj) * sj * gj + bj);
      }
    }
  }
}

/**
 * The gradient's two sums per channel, over the rows in order: sumDy = Σ dy, sumDyXhat = Σ dy·x̂ with
 * x̂ = (x − mean)·inv.
 */
export function bnGradSums(
  x: usize,
  dy: usize,
  mean: usize,
  inv: usize,
  sumDy: usize,
  sumDyXhat: usize,
  rows: i32,
  c: i32,
): void {
  const rowBytes = (<usize>c) << 2;
  let k = 0;
  for (; k + 4 <= c; k += 4) {
    const at = (<usize>k) << 2;
    const m = v128.load(mean + at);
    const s = v128.load(inv + at);
    let a = f32x4.splat(0);
    let b = f32x4.splat(0);
    let i = at;
    for (let r = 0; r < rows; r++) {
      const d = v128.load(dy + i);
      a = f32x4.add(a, d);
      b = f32x4.add(b, f32x4.mul(d, f32x4.mul(f32x4.sub(v128.load(x + i), m), s)));
      i += rowBytes;
    }
    v128.store(sumDy + at, a);
    v128.store(sumDyXhat + at, b);
  }
  for (; k < c; k++) {
    const at = (<usize>k) << 2;
    const m = load<f32>(mean + at);
    const s = load<f32>(inv + at);
    let a: f32 = 0;
    let b: f32 = 0;
    let i = at;
    for (let r = 0; r < rows; r++) {
      const d = load<f32>(dy + i);
      a += d;
      b += d * ((load<f32>(x + i) - m) * s);
      i += rowBytes;
    }
    store<f32>(sumDy + at, a);
    store<f32>(sumDyXhat + at, b);
  }
}

/** dx = coef·((dy·count − sumDy) − x̂·sumDyXhat), coef = (gamma·inv)·(1/count) per channel (computed by the caller). */
export function bnGradInput(
  x: usize,
  dy: usize,
  mean: usize,
  inv: usize,
  coef: usize,
  sumDy: usize,
  sumDyXhat: usize,
  count: f32,
  dx: usize,
  rows: i32,
  c: i32,
): void {
  const mf = f32x4.splat(count);
  for (let k = 0; k < c; k += 4) {
    if (k + 4 > c) {
      for (let j = k; j < c; j++) gradInputChannel(x, dy, mean, inv, coef, sumDy, sumDyXhat, count, dx, rows, c, j);
      break;
    }
    const at = (<usize>k) << 2;
    const m = v128.load(mean + at);
    const s = v128.load(inv + at);
    const w = v128.load(coef + at);
    const a = v128.load(sumDy + at);
    const b = v128.load(sumDyXhat + at);
    let i = at;
    for (let r = 0; r < rows; r++) {
      const xhat = f32x4.mul(f32x4.sub(v128.load(x + i), m), s);
      const t = f32x4.sub(f32x4.sub(f32x4.mul(v128.load(dy + i), mf), a), f32x4.mul(xhat, b));
      v128.store(dx + i, f32x4.mul(w, t));
      i += (<usize>c) << 2;
    }
  }
}

function gradInputChannel(
  x: usize,
  dy: usize,
  mean: usize,
  inv: usize,
  coef: usize,
  sumDy: usize,
  sumDyXhat: usize,
  count: f32,
  dx: usize,
  rows: i32,
  c: i32,
  j: i32,
): void {
  const at = (<usize>j) << 2;
  const m = load<f32>(mean + at);
  const s = load<f32>(inv + at);
  const w = load<f32>(coef + at);
  const a = load<f32>(sumDy + at);
  const b = load<f32>(sumDyXhat + at);
  let i = at;
  for (let r = 0; r < rows; r++) {
    const xhat = (load<f32>(x + i) - m) * s;
    store<f32>(dx + i, w * (load<f32>(dy + i) * count - a - xhat * b));
    i += (<usize>c) << 2;
  }
}
