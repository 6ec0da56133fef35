// AssemblyScript: layout helpers for the kernels.

/** Copies `positions` rows of `c` floats to rows of `cp` ≥ c floats, the padding zero (whole-vector loads). */
export function padChannels(src: usize, dst: usize, positions: i32, c: i32, cp: i32): void {
  for (let p = 0; p < positions; p++) {
    const s = src + ((<usize>(p * c)) << 2);
    const d = dst + ((<usize>(p * cp)) << 2);
    for (let i = 0; i < c; i++) store<f32>(d + ((<usize>i) << 2), load<f32>(s + ((<usize>i) << 2)));
    for (let i = c; i < cp; i++) store<f32>(d + ((<usize>i) << 2), 0);
  }
}
