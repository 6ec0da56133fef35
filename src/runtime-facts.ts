import type { StageDefinition } from './engine/stage.ts';

/**
 * The runtime facts that go into the key of stages that use tfjs (tfjs version and the backend actually
 * chosen). The backend is resolved once, and only if such a stage is reached, so pipelines without one
 * never load tfjs.
 */
export function runtimeFactsFor(
  requested: string,
): (def: StageDefinition) => Promise<Record<string, string> | undefined> {
  let facts: Promise<Record<string, string>> | undefined;
  return async (def) => {
    if (!def.usesTfjs) return undefined;
    facts ??= import('./ml/backends/backend.ts').then((m) => m.backendFacts(requested));
    return facts;
  };
}
