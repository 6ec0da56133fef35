import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const BACKEND = fileURLToPath(new URL('../../dist/src/ml/backends/backend.js', import.meta.url));

describe('the wasm backend leaves process error handling to Node', () => {
  it('an unhandled rejection after wasm is loaded ends the process with its message and exit 1, not 7', async () => {
    expect(existsSync(BACKEND), 'dist/ is missing: run `npm run build` first').toBe(true);
    const script = `
      const { initBackend } = await import(${JSON.stringify(BACKEND)});
      await initBackend({ name: 'wasm' });
      Promise.reject(new Error('a rejection nobody handled'));
      setTimeout(() => undefined, 2000);
    `;
    const r = await execa('node', ['--input-type=module', '-e', script], { reject: false });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain('a rejection nobody handled');
  }, 60_000);
});
