import type { Redis } from 'ioredis';
import { FedauError } from '../core/errors.ts';
import { sha256 } from '../core/hash.ts';

/** Transport counters: what crossed the network, and how long it took. */
export interface TransportStats {
  bytesUp: number;
  bytesDown: number;
  seconds: number;
}

/** A blob that is not in Redis (expired, flushed, deleted) or arrived damaged: whoever sent it sends it again. */
export class BlobError extends FedauError {
  readonly digest: string;
  constructor(digest: string, problem: 'missing' | 'corrupt') {
    super(
      'FEDAU_STORE_CORRUPT',
      problem === 'missing'
        ? `blob ${digest.slice(0, 12)} is not in Redis`
        : `blob ${digest.slice(0, 12)} arrived corrupt from Redis`,
      {
        hint:
          problem === 'missing'
            ? 'it expired or Redis lost it: the job that needs it is submitted again with the blob'
            : 'the damaged copy was deleted: the job that needs it is submitted again with the blob',
      },
    );
    this.digest = digest;
  }
}

/** A worker's words for a blob problem, as they reach the coordinator in a failed job's reason. */
export const BLOB_PROBLEM = /blob [0-9a-f]{12} (is not in Redis|arrived corrupt from Redis)/;

/** Adds a holder to a blob that exists; says whether it did (atomic: a blob is never revived half-deleted). */
const HOLD = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0`;

/** Drops a holder; the last one out deletes the blob (its chunks, meta and holder set) in the same step. */
const RELEASE = `
redis.call('SREM', KEYS[2], ARGV[1])
if redis.call('SCARD', KEYS[2]) > 0 then return 0 end
local meta = redis.call('GET', KEYS[1])
local n = 0
if meta then n = tonumber(string.match(meta, '"chunks":(%d+)')) or 0 end
for i = 0, n - 1 do redis.call('DEL', ARGV[2] .. i) end
redis.call('DEL', KEYS[1], KEYS[2])
return 1`;

/**
 * Blobs moved through Redis by their SHA-256, in chunks (Redis values are best kept small), verified on arrival.
 * No machine needs a shared filesystem: a worker fetches a dataset once and keeps it in its own store.
 *
 * Blobs are shared by digest (two runs, or two stages of a matrix, often send the same weights), so each use holds
 * its blobs under a name (`run:<id>`, a round, a job) and releases them when done: a blob is deleted only when its
 * last holder lets go, never under another run. A damaged blob is deleted when it is noticed, so that the next
 * upload replaces it; every blob also expires if its holders are never heard of again.
 */
export class RedisBlobs {
  readonly stats: TransportStats = { bytesUp: 0, bytesDown: 0, seconds: 0 };
  private readonly redis: Redis;
  private readonly chunkBytes: number;
  private readonly ttlSeconds: number;

  constructor(redis: Redis, opts: { chunkBytes?: number; ttlSeconds?: number } = {}) {
    this.redis = redis;
    this.chunkBytes = opts.chunkBytes ?? 4 << 20;
    // A backstop for holders that died (a killed coordinator): long enough for a late worker to fetch a dataset.
    this.ttlSeconds = opts.ttlSeconds ?? 2 * 24 * 3600;
  }

  static metaKey(digest: string): string {
    return `fedau:blob:${digest}`;
  }
  static refsKey(digest: string): string {
    return `fedau:blobrefs:${digest}`;
  }
  private chunkKey(digest: string, i: number): string {
    return `fedau:blob:${digest}:${i}`;
  }

  /** Uploads bytes (unless Redis holds them already) held by `holder`, and returns their digest. */
  async put(bytes: Uint8Array, holder: string, digest = sha256(bytes)): Promise<string> {
    const t0 = performance.now();
    const meta = RedisBlobs.metaKey(digest);
    const chunks = Math.max(1, Math.ceil(bytes.byteLength / this.chunkBytes));
    const held = await this.redis.eval(HOLD, 2, meta, RedisBlobs.refsKey(digest), holder, this.ttlSeconds);
    if (held === 1) {
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
    multi.sadd(RedisBlobs.refsKey(digest), holder);
    multi.expire(RedisBlobs.refsKey(digest), this.ttlSeconds);
    // The meta key goes last: its presence means every chunk is there.
    multi.set(meta, JSON.stringify({ size: bytes.byteLength, chunks }), 'EX', this.ttlSeconds);
    await multi.exec();
    this.stats.bytesUp += bytes.byteLength;
    this.stats.seconds += (performance.now() - t0) / 1000;
    return digest;
  }

  /** Downloads a blob and checks it against its digest; a damaged copy is deleted on the spot. */
  async get(digest: string): Promise<Uint8Array> {
    const t0 = performance.now();
    const metaText = await this.redis.get(RedisBlobs.metaKey(digest));
    if (!metaText) throw new BlobError(digest, 'missing');
    const { size, chunks } = JSON.parse(metaText) as { size: number; chunks: number };
    const parts = await this.redis.mgetBuffer(...Array.from({ length: chunks }, (_, i) => this.chunkKey(digest, i)));
    if (parts.some((p) => p === null)) throw new BlobError(digest, 'missing');
    const bytes = new Uint8Array(Buffer.concat(parts as Buffer[]));
    if (bytes.byteLength !== size || sha256(bytes) !== digest) {
      await this.redis.del(
        RedisBlobs.metaKey(digest),
        ...Array.from({ length: chunks }, (_, i) => this.chunkKey(digest, i)),
      );
      throw new BlobError(digest, 'corrupt');
    }
    await this.touch(digest, chunks);
    this.stats.bytesDown += size;
    this.stats.seconds += (performance.now() - t0) / 1000;
    return bytes;
  }

  /** `holder` is done with these blobs; each is deleted once no holder is left. */
  async release(digests: Iterable<string>, holder: string): Promise<void> {
    for (const digest of new Set(digests)) {
      await this.redis.eval(
        RELEASE,
        2,
        RedisBlobs.metaKey(digest),
        RedisBlobs.refsKey(digest),
        holder,
        `fedau:blob:${digest}:`,
      );
    }
  }

  private async touch(digest: string, chunks: number): Promise<void> {
    const multi = this.redis.multi();
    multi.expire(RedisBlobs.metaKey(digest), this.ttlSeconds);
    multi.expire(RedisBlobs.refsKey(digest), this.ttlSeconds);
    for (let i = 0; i < chunks; i++) multi.expire(this.chunkKey(digest, i), this.ttlSeconds);
    await multi.exec();
  }
}
