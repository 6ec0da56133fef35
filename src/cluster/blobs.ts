import type { Redis } from 'ioredis';
import { FedauError } from '../engine/errors.ts';
import { sha256 } from '../util/canonical-json.ts';

/** Transport counters: what crossed the network, and how long it took. */
export interface TransportStats {
  bytesUp: number;
  bytesDown: number;
  seconds: number;
}

/**
 * Blobs moved through Redis by their SHA-256, in chunks (Redis values are best kept small), verified on arrival.
 * No machine needs a shared filesystem: a worker fetches a dataset once and keeps it in its own store, and a
 * round's traffic (weights out, client updates back) is deleted once the round is aggregated.
 */
export class RedisBlobs {
  readonly stats: TransportStats = { bytesUp: 0, bytesDown: 0, seconds: 0 };
  private readonly redis: Redis;
  private readonly chunkBytes: number;
  private readonly ttlSeconds: number;

  constructor(redis: Redis, opts: { chunkBytes?: number; ttlSeconds?: number } = {}) {
    this.redis = redis;
    this.chunkBytes = opts.chunkBytes ?? 4 << 20;
    // Long enough for a worker that joins late to fetch the dataset; refreshed on every use.
    this.ttlSeconds = opts.ttlSeconds ?? 7 * 24 * 3600;
  }

  private metaKey(digest: string): string {
    return `fedau:blob:${digest}`;
  }
  private chunkKey(digest: string, i: number): string {
    return `fedau:blob:${digest}:${i}`;
  }

  /** Uploads bytes (unless Redis holds them already) and returns their digest. */
  async put(bytes: Uint8Array, digest = sha256(bytes)): Promise<string> {
    const t0 = performance.now();
    const meta = this.metaKey(digest);
    const chunks = Math.max(1, Math.ceil(bytes.byteLength / this.chunkBytes));
    if (await this.redis.exists(meta)) {
      await this.touch(digest, chunks);
      return digest;
    }
    const multi = this.redis.multi();
    for (let i = 0; i < chunks; i++) {
      const part = bytes.subarray(i * this.chunkBytes, (i + 1) * this.chunkBytes);
      multi.set(
        this.chunkKey(digest, i),
        Buffer.from(part.buffer, part.byteOffset, part.byteLength),
        'EX',
        this.ttlSeconds,
      );
    }
    // The meta key goes last: its presence means every chunk is there.
    multi.set(meta, JSON.stringify({ size: bytes.byteLength, chunks }), 'EX', this.ttlSeconds);
    await multi.exec();
    this.stats.bytesUp += bytes.byteLength;
    this.stats.seconds += (performance.now() - t0) / 1000;
    return digest;
  }

  /** Downloads a blob and checks it against its digest. */
  async get(digest: string): Promise<Uint8Array> {
    const t0 = performance.now();
    const metaText = await this.redis.get(this.metaKey(digest));
    if (!metaText) throw missing(digest);
    const { size, chunks } = JSON.parse(metaText) as { size: number; chunks: number };
    const parts = await this.redis.mgetBuffer(...Array.from({ length: chunks }, (_, i) => this.chunkKey(digest, i)));
    if (parts.some((p) => p === null)) throw missing(digest);
    const bytes = new Uint8Array(Buffer.concat(parts as Buffer[]));
    const actual = sha256(bytes);
    if (bytes.byteLength !== size || actual !== digest) {
      throw new FedauError('FEDAU_STORE_CORRUPT', `blob ${digest.slice(0, 12)} arrived corrupt from Redis`, {
        expected: digest,
        got: actual,
        hint: 'run again: the sender uploads it anew',
      });
    }
    await this.touch(digest, chunks);
    this.stats.bytesDown += size;
    this.stats.seconds += (performance.now() - t0) / 1000;
    return bytes;
  }

  /** Deletes blobs that are no longer needed (a round's weights and updates, once aggregated). */
  async delete(digests: string[]): Promise<void> {
    if (!digests.length) return;
    const keys: string[] = [];
    for (const digest of new Set(digests)) {
      const meta = await this.redis.get(this.metaKey(digest));
      const chunks = meta ? (JSON.parse(meta) as { chunks: number }).chunks : 0;
      keys.push(this.metaKey(digest), ...Array.from({ length: chunks }, (_, i) => this.chunkKey(digest, i)));
    }
    await this.redis.del(...keys);
  }

  private async touch(digest: string, chunks: number): Promise<void> {
    const multi = this.redis.multi();
    multi.expire(this.metaKey(digest), this.ttlSeconds);
    for (let i = 0; i < chunks; i++) multi.expire(this.chunkKey(digest, i), this.ttlSeconds);
    await multi.exec();
  }
}

function missing(digest: string): FedauError {
  return new FedauError('FEDAU_STORE_CORRUPT', `blob ${digest.slice(0, 12)} is not in Redis`, {
    hint: 'it expired or was deleted: rerun the pipeline, which uploads it again',
  });
}
