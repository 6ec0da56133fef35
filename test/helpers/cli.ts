import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { tsxLoaderUrl } from './tsx-loader.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/fedau.js', import.meta.url));
const FAKE_CLI = fileURLToPath(new URL('../fixtures/fake-cli.ts', import.meta.url));

/** The shipped CLI, as a user runs it. */
export function fedau(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  return execa('node', [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: { CI: '1', ...opts.env }, reject: false });
}

/** The CLI with the fake stage kinds, in its own process. */
export function fakeFedau(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): ResultPromise<{ reject: false }> {
  return execa('node', ['--import', tsxLoaderUrl(), FAKE_CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { CI: '1', ...opts.env },
    reject: false,
  });
}

// biome-ignore lint/suspicious/noExplicitAny: tests read NDJSON events of every shape
export function parseEvents(stdout: string): any[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

/** Resolves when a line of the child's stdout satisfies `test`. */
export function waitForLine(child: ResultPromise<{ reject: false }>, test: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let seen = '';
    let errors = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) if (test(line)) resolve(line);
      seen = (seen + lines.join('\n')).slice(-1500);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      errors = (errors + chunk.toString()).slice(-1500);
    });
    // What the process said last, so a failure in CI says why it ended.
    child.once('exit', (code) =>
      reject(new Error(`process ended (exit ${code}) before the expected line; stdout: …${seen}\nstderr: …${errors}`)),
    );
  });
}
