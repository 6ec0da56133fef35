import { existsSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { planPipeline } from '../../src/index.ts';
import { parseEvents, ROOT } from '../helpers/cli.ts';
import { type InstalledFedau, installPackedFedau } from '../helpers/installed.ts';
import { tempDir } from '../helpers/run-inline.ts';

/** The environment of a user's shell with fedau installed: its bin on PATH, no CI, no reporter preset. */
function userEnv(installed: InstalledFedau): NodeJS.ProcessEnv {
  const { CI: _ci, CONTINUOUS_INTEGRATION: _ci2, FEDAU_REPORTER: _r, FEDAU_STORE: _s, ...rest } = process.env;
  return { ...rest, PATH: `${join(installed.prefix, 'bin')}:${process.env.PATH}`, TERM: 'xterm-256color' };
}

/** A folder of the user's own, far from the checkout, holding a copy of smoke.yaml and a tsconfig of its own. */
async function experimentFolder(): Promise<string> {
  const dir = await tempDir('fedau-experiment-');
  await copyFile(join(ROOT, 'pipelines/smoke.yaml'), join(dir, 'smoke.yaml'));
  // The classic JSX runtime: what broke the Ink view when fedau compiled its sources with the cwd's tsconfig.
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { jsx: 'react' } }));
  return dir;
}

const stripAnsi = (s: string) => stripVTControlCharacters(s).replace(/\r/g, '');

describe('fedau installed from its packed tarball', () => {
  let installed: InstalledFedau;
  beforeAll(async () => {
    installed = await installPackedFedau();
  }, 180_000);

  it('the tarball holds compiled code, schemas, pipelines, README and licence; no tests or benchmarks', async () => {
    const { stdout } = await execa('tar', ['tzf', installed.tarball]);
    const files = stdout.split('\n').map((f) => f.replace(/^package\//, ''));
    for (const f of [
      'bin/fedau.js',
      'dist/src/cli/main.js',
      'dist/src/ml/runners/trainer-thread.js',
      'dist/src/cluster/worker/stage-thread.js',
      'dist/src/index.d.ts',
      // fedau's own CPU kernels, compiled from kernels/ by the build.
      'dist/kernels/fedau-kernels.wasm',
    ]) {
      expect(files).toContain(f);
    }
    for (const f of ['schemas/pipeline.schema.json', 'pipelines/smoke.yaml', 'README.md', 'LICENSE']) {
      expect(files).toContain(f);
    }
    const unwanted = files.filter(
      (f) => /^(test|bench|scripts|src)\//.test(f) || /\.ts$/.test(f.replace(/\.d\.ts$/, '')),
    );
    expect(unwanted).toEqual([]);
    // No TypeScript toolchain at run time: tsx and typescript are development dependencies only.
    expect(existsSync(join(installed.packageDir, 'node_modules/tsx'))).toBe(false);
    expect(existsSync(join(installed.packageDir, 'node_modules/typescript'))).toBe(false);
  });

  it('no compiled module imports a TypeScript file (every specifier was rewritten to .js)', async () => {
    const { stdout } = await execa(
      'grep',
      [
        '-rlE',
        '--include=*.js',
        String.raw`(from|import\()\s*["'][^"']+\.tsx?["']`,
        join(installed.packageDir, 'dist/'),
      ],
      {
        reject: false,
      },
    );
    expect(stdout.trim()).toBe('');
  });

  it('prints its version', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = await execa('fedau', ['--version'], { env: userEnv(installed), extendEnv: false, reject: false });
    expect(result.stdout.trim()).toBe(version);
  });

  it('runs smoke.yaml from a folder outside the checkout, and computes the same keys as the API', async () => {
    const dir = await experimentFolder();
    const result = await execa('fedau', ['run', 'smoke.yaml', '--reporter', 'json'], {
      cwd: dir,
      env: userEnv(installed),
      extendEnv: false, // execa would otherwise merge the test runner's CI variables back in
      reject: false,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const events = parseEvents(result.stdout);
    expect(events.at(-1)).toMatchObject({ type: 'run:end', status: 'success', counts: { success: 7 } });
    expect(existsSync(join(dir, 'reports/smoke/report.md'))).toBe(true);
    // One run path: the programmatic API keys every stage as the installed CLI did, so all are cached.
    const cliKeys = Object.fromEntries(events.filter((e) => e.type === 'stage:start').map((e) => [e.stageId, e.key]));
    const plan = await planPipeline(join(dir, 'smoke.yaml'), { store: join(dir, 'artifacts') });
    expect(Object.fromEntries(plan.map((p) => [p.id, p.key]))).toEqual(cliKeys);
    expect(plan.map((p) => p.decision)).toEqual(Array(7).fill('cached'));
    expect(plan.find((p) => p.kind === 'train-federation')?.parts?.runtime).toMatchObject({ backend: 'wasm' });
  });

  it('draws the Ink view (stage rows, then the summary) in a terminal, from any folder', async () => {
    const dir = await experimentFolder();
    // `script` gives the command a pseudo-terminal, as a user's shell would.
    const result = await execa('script', ['-qfec', 'stty cols 120 rows 40; fedau run smoke.yaml', '/dev/null'], {
      cwd: dir,
      env: userEnv(installed),
      extendEnv: false, // execa would otherwise merge the test runner's CI variables back in
      reject: false,
    });
    const screen = stripAnsi(result.stdout);
    expect(result.exitCode, screen).toBe(0);
    expect(screen).toContain('fedau · smoke');
    for (const [id, kind] of [
      ['data', 'dataset'],
      ['train', 'train-federation'],
      ['report', 'report'],
    ]) {
      expect(screen).toMatch(new RegExp(`✔ ${id}\\s+${kind}`));
    }
    expect(screen).toMatch(/✔ success: 0 cached · 7 ran · 0 failed · 0 skipped in [\d.]+ ?m?s/);
    expect(screen).not.toContain('reporter failed');
  });
});
