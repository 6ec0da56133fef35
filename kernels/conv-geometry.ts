// AssemblyScript: the geometry of the filter-gradient call in progress, in globals (not memory) so that its blocks,
// in conv-filter-grad.ts and conv-filter-grad-taps.ts, read it without arguments.

export let X: usize = 0;
export let DY: usize = 0;
export let H: i32 = 0;
export let W: i32 = 0;
export let CI: i32 = 0;
export let OH: i32 = 0;
export let OW: i32 = 0;
/** Output channels per position in `dy`: Cout rounded up to 4, the padding zero, so every load is a whole vector. */
export let COP: i32 = 0;
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
  SH = sh;
  SW = sw;
}

export function setTile(n0: i32, n1: i32): void {
  N0 = n0;
  N1 = n1;
}
