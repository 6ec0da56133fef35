import { diffKeyParts, type KeyParts } from './hash.ts';
import type { Lookup } from './store.ts';

/**
 * Why a stage must run, in words: which part of its key changed since the last run of the same stage id
 * (a param with its old and new value, an input, the stage version), or what is wrong with the cache entry.
 */
export function explainMiss(opts: {
  lookup?: Lookup;
  forced?: 'force' | 'no-cache' | 'volatile';
  last?: KeyParts;
  parts?: KeyParts;
  upstream?: string[];
}): string {
  if (opts.forced === 'force') return 'forced (--force)';
  if (opts.forced === 'no-cache') return 'cache: false';
  if (opts.forced === 'volatile')
    return 'reads files outside the store, so it always runs (dependents stay cached if its output is unchanged)';
  if (opts.upstream?.length) return `upstream will run first: ${opts.upstream.join(', ')}`;
  const lookup = opts.lookup;
  if (lookup && !lookup.hit && lookup.reason !== 'no-record') return lookup.warning ?? lookup.reason;
  if (!opts.last || !opts.parts) return 'never run before';
  const changes = diffKeyParts(opts.last, opts.parts).map(describeChange);
  // Same key as last time but no record: that run never finished it (killed, failed or interrupted).
  return changes.length ? changes.join('; ') : 'its last run did not finish (a training resumes from its checkpoint)';
}

function describeChange(line: string): string {
  if (line.startsWith('inputs.'))
    return `input ${line.slice('inputs.'.length).replace(/:.*/, '')} changed (${line.split(': ')[1]})`;
  if (line.startsWith('version:')) return `stage version ${line.slice('version: '.length)}`;
  if (line.startsWith('params.')) return `param ${line.slice('params.'.length)}`;
  return line;
}
