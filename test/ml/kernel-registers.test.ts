import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

/**
 * The kernels' hottest loops keep every value in a register (kernels/README.md, "Registers"): a loop that V8 has to
 * spill runs at half speed with the same bytes, which no other test would notice. `npm run kernels:spills` reads
 * V8's own machine code for the fused build (x64 only: its instruction names are x64's).
 */
interface Loop {
  fn: string;
  multiplyAdds: number;
  spills: number;
}

async function loops(): Promise<Loop[]> {
  const { stdout } = await execa('node', ['scripts/kernel-spills.mjs']);
  return stdout.split('\n').flatMap((line) => {
    const m = line.match(/^(\S+)\s+loop .*?(\d+) multiply-adds, (\d+) spills/);
    return m ? [{ fn: m[1], multiplyAdds: Number(m[2]), spills: Number(m[3]) }] : [];
  });
}

/** Kernels whose loops all fit: each of them was once measured at about half speed with values on the stack. */
const IN_REGISTERS = [
  'gemm/gemm',
  'conv-filter-grad-taps/taps5x2',
  'conv-filter-grad/block2',
  'conv-forward-one-channel/block3',
  'conv-forward-one-channel/block4',
];

describe.runIf(process.arch === 'x64')('kernel loops in registers', () => {
  it(`no loop of ${IN_REGISTERS.join(', ')} spills`, async () => {
    const found = await loops();
    for (const fn of IN_REGISTERS) {
      const own = found.filter((l) => l.fn === fn);
      expect(own.length, `${fn}: no loop with multiply-adds found`).toBeGreaterThan(0);
      expect(
        own.filter((l) => l.spills > 0),
        `${fn}: loops with spills`,
      ).toEqual([]);
    }
  }, 120_000);
});
