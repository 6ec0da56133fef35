// AssemblyScript: sums over a block of rows, column by column, for the reductions BatchNorm and global average
// pooling make (ResNet18): x viewed as [outer, rows, cols], out[o, c] = Σ_r x[o, r, c], divided by `rows` for a
// mean. tfjs-wasm transposes x so that each column is contiguous and then sums it one float at a time: a full copy
// of the tensor, then a chain of dependent scalar additions. Here four vectors of columns are summed at once, in
// place. Each column still adds its rows one at a time from 0, in row order, and a mean divides that sum by the row
// count in float32, as tfjs-wasm's Sum and Mean do: the same bytes as theirs.

export function sumRows(x: usize, out: usize, outer: i32, rows: i32, cols: i32, mean: i32): void {
  const rowBytes = (<usize>cols) << 2;
  const count = f32x4.splat(<f32>rows);
  for (let o = 0; o < outer; o++) {
    const block = x + <usize>o * <usize>rows * rowBytes;
    const to = out + <usize>o * rowBytes;
    let c = 0;
    for (; c + 16 <= cols; c += 16) {
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      let p = block + ((<usize>c) << 2);
      for (let r = 0; r < rows; r++) {
        a0 = f32x4.add(a0, v128.load(p));
        a1 = f32x4.add(a1, v128.load(p, 16));
        a2 = f32x4.add(a2, v128.load(p, 32));
        a3 = f32x4.add(a3, v128.load(p, 48));
        p += rowBytes;
      }
      const at = to + ((<usize>c) << 2);
      v128.store(at, mean ? f32x4.div(a0, count) : a0);
      v128.store(at, mean ? f32x4.div(a1, count) : a1, 16);
      v128.store(at, mean ? f32x4.div(a2, count) : a2, 32);
      v128.store(at, mean ? f32x4.div(a3, count) : a3, 48);
    }
    for (; c + 4 <= cols; c += 4) {
      let a = f32x4.splat(0);
      let p = block + ((<usize>c) << 2);
      for (let r = 0; r < rows; r++) {
        a = f32x4.add(a, v128.load(p));
        p += rowBytes;
      }
      v128.store(to + ((<usize>c) << 2), mean ? f32x4.div(a, count) : a);
    }
    for (; c < cols; c++) {
      let s: f32 = 0;
      let p = block + ((<usize>c) << 2);
      for (let r = 0; r < rows; r++) {
        s += load<f32>(p);
        p += rowBytes;
      }
      store<f32>(to + ((<usize>c) << 2), mean ? s / <f32>rows : s);
    }
  }
}
