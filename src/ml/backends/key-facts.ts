import type { RunServices } from '../../engine/stage.ts';

/**
 * What a tfjs stage adds to its cache key from the machine it runs on: the tfjs version and the backend (with the
 * GPU adapter for WebGPU) that the requested backend resolves to here; results differ slightly across them. Asked
 * once per process and requested backend: the backend is resolved once.
 */
export function tfjsKeyFacts(services: RunServices): Promise<Record<string, string>> {
  const requested = typeof services.backend === 'string' ? services.backend : 'auto';
  let facts = resolved.get(requested);
  if (!facts) {
    facts = import('./backend.ts').then((m) => m.backendFacts(requested));
    resolved.set(requested, facts);
    facts.catch(() => resolved.delete(requested));
  }
  return facts;
}

const resolved = new Map<string, Promise<Record<string, string>>>();
