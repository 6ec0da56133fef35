// AssemblyScript: the geometry of the filter-gradient call in progress, in globals (not memory) so that its blocks,
// in conv-filter-grad.ts and conv-filter-grad-taps.ts, read it without arguments.

export let X: usize = 0;
export let DY: usize = 0;
export let H: i32 = 0;
export let W: i32 = 0;
export let CI: i32 = 0;
export let OH: i32 = 0;
export let OW: i32 = 0;
/** Cout rounded up to 4: the lanes every position's vectors span (those ≥ Cout are never stored). */
export let COP: i32 = 0;
/**
 * Floats from one position of `dy` to the next: Cout. When Cout is not a multiple of 4, a position's last vector
 * reads into the next one's first channels (past the tensor's end at the very last position, still inside the heap:
 * src/ml/kernels/wasm/conv2d-backprop-filter.ts), lanes that only ever reach accumulator lanes ≥ Cout.
 */
export let DYS: i32 = 0;
export let SH: i32 = 0;
export let SW: i32 = 0;
/** The samples of the current tile: its dy rows stay in the L1 cache while every filter tap reads them. */
export let N0: i32 = 0;
export let N1: i32 = 0;

export function setGeometry(
  x: usize,
  dy: usize,
  h: i32,
  w: i32,
  ci: i32,
  oh: i32,
  ow: i32,
  co: i32,
  cop: i32,
  sh: i32,
  sw: i32,
): void {
  X = x;
  DY = dy;
  H = h;
  W = w;
  CI = ci;
  OH = oh;
  OW = ow;
  COP = cop;
  DYS = co;
  SH = sh;
  SW = sw;
}

export function setTile(n0: i32, n1: i32): void {
  N0 = n0;
  N1 = n1;
}
