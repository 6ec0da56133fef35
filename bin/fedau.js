#!/usr/bin/env node
// fedau's sources are TypeScript run through tsx: no build step, so a checkout is always what runs.
import { register } from 'tsx/esm/api';

// `fedau plan x.yaml | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
