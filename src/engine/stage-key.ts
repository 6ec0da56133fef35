import { CACHE_FORMAT, type KeyParts, stageKey } from './hash.ts';
import type { ResolvedStage } from './pipeline.ts';
import type { ArtifactRef, RunServices } from './stage.ts';

/**
 * What a stage's cache key hashes, given its input artifacts: the one recipe that `run` and `plan` share, so that
 * `plan` can never predict a key that `run` would not compute.
 */
export async function keyFor(
  stage: ResolvedStage,
  inputs: Record<string, ArtifactRef>,
  services: RunServices = {},
): Promise<{ key: string; parts: KeyParts }> {
  const runtime = await stage.def.runtimeKey?.(services);
  const parts: KeyParts = {
    cacheFormat: CACHE_FORMAT,
    kind: stage.kind,
    version: stage.def.version,
    params: stage.params,
    inputs: Object.fromEntries(Object.entries(inputs).map(([name, ref]) => [name, ref.digest])),
    ...(stage.def.seeded?.(stage.params) === false ? {} : { seed: stage.seed }),
    ...(runtime ? { runtime } : {}),
  };
  return { key: stageKey(parts), parts };
}
