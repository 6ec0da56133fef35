// AssemblyScript: partial vector updates for channel counts that are not a multiple of 4.

/** Adds the first `lanes` lanes of `v` to the floats at `p`: all four when lanes ≥ 4, none when lanes ≤ 0. */
export function addLanes(p: usize, v: v128, lanes: i32): void {
  if (lanes >= 4) {
    v128.store(p, f32x4.add(v128.load(p), v));
    return;
  }
  if (lanes >= 1) store<f32>(p, load<f32>(p) + f32x4.extract_lane(v, 0));
  if (lanes >= 2) store<f32>(p, load<f32>(p, 4) + f32x4.extract_lane(v, 1), 4);
  if (lanes >= 3) store<f32>(p, load<f32>(p, 8) + f32x4.extract_lane(v, 2), 8);
}

/** Stores the first `lanes` lanes of `v` at `p`: all four when lanes ≥ 4, none when lanes ≤ 0. */
export function storeLanes(p: usize, v: v128, lanes: i32): void {
  if (lanes >= 4) {
    v128.store(p, v);
    return;
  }
  if (lanes >= 1) v128.store32_lane(p, v, 0);
  if (lanes >= 2) v128.store32_lane(p, v, 1, 4);
  if (lanes >= 3) v128.store32_lane(p, v, 2, 8);
}
