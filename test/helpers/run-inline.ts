import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { vi } from 'vitest';
import type { RunEvent } from '../../src/engine/events.ts';
import { type RunPipelineOptions, runPipeline } from '../../src/index.ts';
import { fakeSchemas, makeFakeRegistry } from './fake-stages.ts';

export async function tempDir(prefix = 'fedau-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), content);
  }
}

/** A workspace with a store, running YAML pipelines through the real engine with the fake stage kinds. */
export async function fakeWorkspace() {
  const dir = await tempDir();
  const store = join(dir, 'store');
  const fake = makeFakeRegistry(() => vi.fn());
  const schemas = fakeSchemas();
  const run = async (yaml: string, opts: Partial<RunPipelineOptions> = {}) => {
    const file = join(dir, 'pipeline.yaml');
    await writeFile(file, yaml);
    const events: RunEvent[] = [];
    const result = await runPipeline(file, {
      store,
      registry: fake.registry,
      schemas,
      workDir: dir,
      reporters: [{ onEvent: (e) => void events.push(e) }],
      ...opts,
    });
    const statusOf = (id: string) => result.stages[id]?.status;
    return { result, events, statusOf };
  };
  return { dir, store, run, ...fake, schemas };
}
