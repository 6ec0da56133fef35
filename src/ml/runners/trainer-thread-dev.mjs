// The worker thread's entry when fedau runs from its TypeScript sources (tests, `npm run bench`): it registers
// tsx in the worker (Node 20 ignores `--import` in a worker's execArgv), then loads the TypeScript worker.
// The compiled build starts `worker.js` directly and never loads this file.
import { register } from 'tsx/esm/api';

register();
await import('./trainer-thread.ts');
