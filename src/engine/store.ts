import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FedauError } from '../core/errors.ts';
import { sha256File, writeFileAtomic } from '../core/fs-atomic.ts';
import { sha256 } from '../core/hash.ts';
import type { KeyParts } from './hash.ts';
import type { ArtifactKind, ArtifactRef } from './stage.ts';

/** The cache entry of one stage execution: written only after every output blob is in place. */
export interface RunRecord {
  format: 1;
  key: string;
  parts: KeyParts;
  outputs: Record<string, ArtifactRef>;
  /** The stage id and pipeline that produced it: informational only, not part of the key. */
  producedBy: { stageId: string; pipeline: string };
  createdAt: string;
  durationMs: number;
  /** Which machines computed the outputs, when not this process alone (a cluster's workers). */
  provenance?: object;
}

export type Lookup =
  | { hit: true; record: RunRecord }
  | { hit: false; reason: 'no-record' | 'bad-record' | 'missing-output' | 'corrupt-output'; warning?: string };

/** A store of `fedau run` (records and blobs), or a `fedau worker`'s cache of inputs (blobs only, no records). */
export type StoreKind = 'local' | 'worker';

/** Written when a store is created: what it is, so that `fedau gc` never mistakes another folder for one. */
const MARKER = 'fedau-store.json';

/**
 * A content-addressed artifact store on the local filesystem.
 * Blobs are immutable and named by their SHA-256; a run record is the commit point of a stage.
 */
export class ArtifactStore {
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  get tmpDir(): string {
    return join(this.root, 'tmp');
  }
  objectPath(digest: string): string {
    return join(this.root, 'objects', digest.slice(0, 2), digest);
  }
  recordPath(key: string): string {
    return join(this.root, 'records', key.slice(0, 2), `${key}.json`);
  }
  get downloadDir(): string {
    return join(this.root, 'downloads');
  }
  checkpointDir(key: string): string {
    return join(this.root, 'checkpoints', key);
  }

  async init(kind: StoreKind = 'local'): Promise<void> {
    for (const dir of ['objects', 'records', 'runs', 'tmp', 'locks', 'checkpoints']) {
      await mkdir(join(this.root, dir), { recursive: true });
    }
    // Marked once, when created (or first used after markers came): the kind never changes afterwards.
    const marked = await stat(join(this.root, MARKER)).catch(() => undefined);
    if (!marked) await writeFileAtomic(join(this.root, MARKER), JSON.stringify({ format: 1, kind }), this.tmpDir);
  }

  /**
   * What this folder is: its marker's kind; a store made before markers existed counts as local when it has the
   * layout of one; anything else is not a store (undefined).
   */
  async identify(): Promise<StoreKind | undefined> {
    try {
      const marker = JSON.parse(await readFile(join(this.root, MARKER), 'utf8')) as { kind?: StoreKind };
      return marker.kind === 'worker' ? 'worker' : 'local';
    } catch {
      const has = async (dir: string) => (await stat(join(this.root, dir)).catch(() => undefined))?.isDirectory();
      return (await has('objects')) && (await has('records')) ? 'local' : undefined;
    }
  }

  async putBytes(kind: ArtifactKind, bytes: Uint8Array, meta?: ArtifactRef['meta']): Promise<ArtifactRef> {
    const digest = sha256(bytes);
    // Always rename over an existing blob: if it was corrupted on disk, this repairs it.
    await writeFileAtomic(this.objectPath(digest), bytes, this.tmpDir);
    return meta ? { kind, digest, size: bytes.byteLength, meta } : { kind, digest, size: bytes.byteLength };
  }

  /** The bytes of a blob, checked against its digest. */
  async getBytes(ref: Pick<ArtifactRef, 'digest' | 'kind'>): Promise<Uint8Array> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.objectPath(ref.digest));
    } catch (error) {
      throw new FedauError(
        'FEDAU_STORE_CORRUPT',
        `artifact ${ref.digest.slice(0, 12)} (${ref.kind}) is missing from the store`,
        {
          file: this.objectPath(ref.digest),
          hint: 'run the pipeline again: the stage that produced it will re-run',
          cause: error,
        },
      );
    }
    const actual = sha256(bytes);
    if (actual !== ref.digest) {
      throw new FedauError(
        'FEDAU_STORE_CORRUPT',
        `artifact ${ref.digest.slice(0, 12)} (${ref.kind}) is corrupt on disk`,
        {
          file: this.objectPath(ref.digest),
          expected: ref.digest,
          got: actual,
          hint: 'run the pipeline again: the stage that produced it will re-run and rewrite it',
        },
      );
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async verify(ref: ArtifactRef): Promise<'ok' | 'missing' | 'corrupt'> {
    const path = this.objectPath(ref.digest);
    try {
      const info = await stat(path);
      if (info.size !== ref.size) return 'corrupt';
      return (await sha256File(path)) === ref.digest ? 'ok' : 'corrupt';
    } catch {
      return 'missing';
    }
  }

  /** Whether the store holds a blob with exactly these bytes. */
  async holds(digest: string): Promise<boolean> {
    try {
      return (await sha256File(this.objectPath(digest))) === digest;
    } catch {
      return false;
    }
  }

  async readRecord(key: string): Promise<RunRecord | undefined | 'bad'> {
    let text: string;
    try {
      text = await readFile(this.recordPath(key), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const record = JSON.parse(text) as RunRecord;
      if (record.format !== 1 || record.key !== key || typeof record.outputs !== 'object') return 'bad';
      return record;
    } catch {
      return 'bad';
    }
  }

  /** A cache hit only when the record parses and every output blob is present with the right bytes. */
  async lookup(key: string): Promise<Lookup> {
    const record = await this.readRecord(key);
    if (record === undefined) return { hit: false, reason: 'no-record' };
    if (record === 'bad') {
      return {
        hit: false,
        reason: 'bad-record',
        warning: `run record ${key.slice(0, 12)} is unreadable; the stage will run again`,
      };
    }
    for (const [name, ref] of Object.entries(record.outputs)) {
      const state = await this.verify(ref);
      if (state !== 'ok') {
        return {
          hit: false,
          reason: state === 'missing' ? 'missing-output' : 'corrupt-output',
          warning: `output "${name}" (${ref.digest.slice(0, 12)}) is ${state} in the store; the stage will run again`,
        };
      }
    }
    return { hit: true, record };
  }

  async writeRecord(record: RunRecord): Promise<void> {
    await writeFileAtomic(this.recordPath(record.key), JSON.stringify(record, null, 2), this.tmpDir);
  }

  async deleteRecord(key: string): Promise<void> {
    await rm(this.recordPath(key), { force: true });
  }

  async listKeys(): Promise<string[]> {
    const keys: string[] = [];
    for (const prefix of await safeReaddir(join(this.root, 'records'))) {
      for (const file of await safeReaddir(join(this.root, 'records', prefix))) {
        if (file.endsWith('.json')) keys.push(file.slice(0, -5));
      }
    }
    return keys;
  }

  async listObjects(): Promise<{ digest: string; path: string; size: number; mtimeMs: number }[]> {
    const out = [];
    for (const prefix of await safeReaddir(join(this.root, 'objects'))) {
      for (const digest of await safeReaddir(join(this.root, 'objects', prefix))) {
        const path = join(this.root, 'objects', prefix, digest);
        const info = await stat(path).catch(() => undefined);
        if (info) out.push({ digest, path, size: info.size, mtimeMs: info.mtimeMs });
      }
    }
    return out;
  }
}

export async function safeReaddir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}
