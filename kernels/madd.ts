// AssemblyScript: the multiply-add every kernel's inner loop is made of, c + a·b on four lanes.
//
// The build compiles the kernels twice (scripts/build-kernels.mjs). Plain SIMD128 has no fused multiply-add: a
// multiply, rounded, then an add, rounded. With relaxed SIMD, `relaxed_madd` is one instruction where the CPU has
// FMA (rounded once: different bytes, so the module's digest is in the cache key) and the same two otherwise.
// binaryen inlines this function into every loop (no call is left in the module).

export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/**
 * madd(a, b, c)'s first lane, for the loader to tell a fused multiply-add (one rounding) from two operations: with
 * a = b = 1 + 2⁻¹², c = -(1 + 2⁻¹¹), fused gives 2⁻²⁴, unfused 0.
 */
export function maddProbe(a: f32, b: f32, c: f32): f32 {
  return f32x4.extract_lane(madd(f32x4.splat(a), f32x4.splat(b), f32x4.splat(c)), 0);
}
