import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * The URL of tsx's loader, for `--import` in child processes and worker threads. `--import tsx` alone would
 * be resolved from the child's working directory, which need not be inside this package.
 */
export function tsxLoaderUrl(): string {
  return pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/package.json')
      .replace(/package\.json$/, 'dist/loader.mjs'),
  ).href;
}
