import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fedau, ROOT } from '../helpers/cli.ts';
import { tempDir } from '../helpers/run-inline.ts';

// Mesa's lavapipe: the Vulkan driver a browser install brings along, which Dawn refuses. `.ci/run` installs it.
const LAVAPIPE =
  existsSync('/usr/share/vulkan/icd.d/lvp_icd.x86_64.json') && existsSync('/usr/lib/x86_64-linux-gnu/libvulkan.so.1');
if (!LAVAPIPE)
  console.warn('SKIPPED: the quiet GPU probe test needs lavapipe (apt-get install mesa-vulkan-drivers libvulkan1)');

describe.skipIf(!LAVAPIPE)('backend auto beside a Vulkan driver Dawn refuses', () => {
  it('probes quietly, says in one line which backend and why, and shows the probe only under --verbose', async () => {
    const dir = await tempDir();
    // A fresh temp folder: the probe's answer is not remembered yet, so Dawn really is asked.
    const env: Record<string, string> = { TMPDIR: dir, XDG_RUNTIME_DIR: '' };
    const args = ['run', join(ROOT, 'pipelines/smoke.yaml'), '--reporter', 'plain', '--set', 'train.rounds=1'];
    const quiet = await fedau([...args, '--store', join(dir, 'a')], { env });
    expect(quiet.exitCode, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toMatch(/XDG_RUNTIME_DIR|Warning|Vulkan|runner\/work/);
    const said = quiet.stdout.split('\n').filter((l) => l.startsWith('[run] backend '));
    expect(said).toEqual([
      // Which build of fedau's wasm kernels runs: the fused multiply-add one on CI's machines (x86-64 with FMA).
      "[run] backend wasm (fedau's kernels: fma): auto: no tfjs-node is installed, and no hardware GPU " +
        "(Dawn refused the only Vulkan driver, Mesa's software lavapipe)",
    ]);
    expect(quiet.stdout).not.toContain('webgpu probe:');
    const verbose = await fedau([...args, '--store', join(dir, 'b'), '--verbose'], { env });
    expect(verbose.stdout).toContain(
      '[run] webgpu probe: Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.',
    );
    expect(verbose.stderr).not.toMatch(/XDG_RUNTIME_DIR|Warning/);
  }, 120_000);
});
