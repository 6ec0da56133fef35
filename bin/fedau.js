#!/usr/bin/env node
// fedau's sources are TypeScript run through tsx: no build step, so a checkout is always what runs.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
// Let stdout drain (json reporter output in a pipe) before exiting.
process.exitCode = code;
