// Worker threads start from this plain module: it registers tsx in the worker (Node 20 ignores `--import` in a
// worker's execArgv), then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
