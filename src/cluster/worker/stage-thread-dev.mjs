// The stage thread's entry when fedau runs from its TypeScript sources (tests): it registers tsx in the thread
// (Node 20 ignores `--import` in a worker's execArgv), then loads the TypeScript entry. The compiled build starts
// `stage-thread.js` directly and never loads this file.
import { register } from 'tsx/esm/api';

register();
await import('./stage-thread.ts');
