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
import asc from 'assemblyscript/asc';

const dir = mkdtempSync(join(tmpdir(), 'fedau-spills-'));
try {
  const wasm = join(dir, 'kernels.wasm');
  const { error, stderr } = await asc.main([
    'kernels/index.ts',
    '--outFile',
    wasm,
    '--runtime',
    'stub',
    '--importMemory',
    '--initialMemory',
    '0',
    '--enable',
    'simd,relaxed-simd',
    '-O3',
    '--noAssert',
    '--use',
    'abort=',
    '--disableWarning',
    '112',
    // Only to keep the functions' names in the module: the code is the build's.
    '--debug',
  ]);
  if (error) {
    process.stderr.write(stderr.toString());
    process.exit(1);
  }
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
  for (const line of report(functionsOf(code))) process.stdout.write(`${line}\n`);
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
 * Loops are found by their backward jumps: from the jump's target to the jump. A loop holding another's whole range
 * is left out; V8 lays out some outer loops so that they only overlap their inner ones, and those stay listed (their
 * spills are outside the innermost loop and cost little).
 */
function report(functions) {
  const lines = [];
  for (const f of functions) {
    const loops = [];
    for (const { offset, text } of f.instructions) {
      const jump = text.match(/^j\w+\s+0x[0-9a-f]+\s+<\+0x([0-9a-f]+)>/);
      if (jump && Number.parseInt(jump[1], 16) < offset) loops.push([Number.parseInt(jump[1], 16), offset]);
    }
    const innermost = loops.filter(([a, b]) => !loops.some(([c, d]) => (c !== a || d !== b) && c >= a && d <= b));
    for (const [from, to] of innermost) {
      const body = f.instructions.filter((i) => i.offset >= from && i.offset <= to);
      const fmas = body.filter((i) => /^vfmadd|^v?mulps/.test(i.text)).length;
      if (fmas === 0) continue;
      const spills = body.filter((i) => /^vmov\w+\s+(\[rbp|xmm\d+,\[rbp)/.test(i.text)).length;
      lines.push(
        `${f.name.padEnd(48)} loop +${from.toString(16)}…+${to.toString(16)}: ${String(body.length).padStart(3)} ` +
          `instructions, ${String(fmas).padStart(2)} multiply-adds, ${spills} spills${spills ? '  <--' : ''}`,
      );
    }
  }
  return lines;
}
