// `npm run kernels:spills`: which of fedau's kernel loops V8 cannot keep in registers. A kernel's inner loop runs at
// the FMA peak only when its accumulators and loaded vectors fit the 15 SIMD registers V8 gives wasm on x64; past
// that, TurboFan keeps values on the stack inside the loop (kernels/README.md, "Registers"). This compiles the
// kernels as the build does (fused build) but with function names, has V8 compile every function with TurboFan
// and print the machine code, and lists each loop that has multiply-adds: its instructions, multiply-adds and
// SIMD moves to or from the stack frame (spills). x64 only (the instruction names are x64's).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileKernels } from './compile-kernels.mjs';

const dir = mkdtempSync(join(tmpdir(), 'fedau-spills-'));
try {
  const wasm = join(dir, 'kernels.wasm');
  // --debug only keeps the functions' names in the module: the code is the build's.
  await compileKernels(wasm, 'simd,relaxed-simd', ['--debug']);
  const loader = join(dir, 'load.mjs');
  writeFileSync(
    loader,
    `import { readFileSync } from 'node:fs';
const memory = new WebAssembly.Memory({ initial: 1 });
new WebAssembly.Instance(new WebAssembly.Module(readFileSync(${JSON.stringify(wasm)})), { env: { memory } });
`,
  );
  const code = execFileSync(
    process.execPath,
    ['--experimental-wasm-relaxed-simd', '--no-liftoff', '--no-wasm-lazy-compilation', '--print-wasm-code', loader],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  const functions = functionsOf(code);
  if (functions.length === 0) {
    process.stderr.write(
      `kernels:spills: Node ${process.version} printed no TurboFan code for the kernels: --print-wasm-code needs a ` +
        'V8 built with its disassembler (the official Node builds are)\n',
    );
    process.exit(1);
  }
  for (const line of report(functions)) process.stdout.write(`${line}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** TurboFan's code of each function: its name and its instructions (offset, text). */
function functionsOf(code) {
  const functions = [];
  let current = null;
  for (const line of code.split('\n')) {
    const name = line.match(/^name: (.*)$/);
    if (name) {
      current = { name: name[1].replace(/^kernels\//, ''), turbofan: false, instructions: [] };
      functions.push(current);
      continue;
    }
    if (!current) continue;
    if (line.startsWith('compiler: ')) current.turbofan = line.includes('TurboFan');
    const instruction = line.match(/^0x[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+(.*)$/);
    if (instruction) current.instructions.push({ offset: Number.parseInt(instruction[1], 16), text: instruction[2] });
  }
  return functions.filter((f) => f.turbofan);
}

/**
 * Loops are found by their backward jumps: from the jump's target to the jump. V8 lays some loops out so that an
 * outer loop's range only overlaps its inner loop's, so each instruction counts for the smallest range that holds it:
 * an inner loop's multiply-adds and spills are its own, and an outer loop shows only what runs around the inner one.
 */
function report(functions) {
  const lines = [];
  for (const f of functions) {
    const loops = [];
    for (const { offset, text } of f.instructions) {
      const jump = text.match(/^j\w+\s+0x[0-9a-f]+\s+<\+0x([0-9a-f]+)>/);
      const target = jump && Number.parseInt(jump[1], 16);
      if (jump && target < offset) loops.push({ from: target, to: offset, size: 0, fmas: 0, spills: 0 });
    }
    for (const { offset, text } of f.instructions) {
      const holders = loops.filter((l) => l.from <= offset && offset <= l.to);
      if (holders.length === 0) continue;
      const loop = holders.reduce((a, b) => (b.to - b.from < a.to - a.from ? b : a));
      loop.size++;
      if (/^vfmadd|^v?mulps/.test(text)) loop.fmas++;
      if (/^vmov\w+\s+(\[rbp|xmm\d+,\[rbp)/.test(text)) loop.spills++;
    }
    for (const { from, to, size, fmas, spills } of loops) {
      if (fmas === 0) continue;
      lines.push(
        `${f.name.padEnd(48)} loop +${from.toString(16)}…+${to.toString(16)}: ${String(size).padStart(3)} ` +
          `instructions, ${String(fmas).padStart(2)} multiply-adds, ${spills} spills${spills ? '  <--' : ''}`,
      );
    }
  }
  return lines;
}
