import type { ArtifactKind } from '../../artifacts/kinds.ts';
import type { ArtifactStore } from '../../engine/store.ts';
import type { RedisBlobs } from '../blobs.ts';

/**
 * A worker's inputs: from its own store when it has them, else from Redis (checked against their digest), then
 * kept, so a dataset crosses the network once per machine.
 */
export class ArtifactCache {
  readonly store: ArtifactStore;
  private readonly blobs: RedisBlobs;

  constructor(store: ArtifactStore, blobs: RedisBlobs) {
    this.store = store;
    this.blobs = blobs;
  }

  async bytes(digest: string, kind: ArtifactKind): Promise<Uint8Array> {
    if (await this.store.holds(digest)) return this.store.getBytes({ digest, kind });
    const bytes = await this.blobs.get(digest);
    await this.store.putBytes(kind, bytes);
    return bytes;
  }
}
