import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError, InterruptedError } from '../core/errors.ts';

export interface DownloadRequest {
  /** Mirrors, tried in order. */
  urls: string[];
  sha256: string;
  fileName: string;
  dir: string;
  signal?: AbortSignal;
  onProgress?(received: number, total: number | undefined): void;
  /** Abort when no byte arrives for this long (also the connect timeout). */
  idleTimeoutMs?: number;
  /** What the user can do instead when every mirror fails (shown as the hint). */
  offlineHint?: string;
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const sizeOf = async (path: string) => (await stat(path).catch(() => undefined))?.size ?? 0;

/**
 * Downloads a file whose SHA-256 is known, into `dir/<sha256>-<name>` (so a verified file is reused forever).
 * An interrupted download leaves `<file>.partial`; the next attempt resumes it with an HTTP Range request, or
 * restarts when the server does not honour ranges. Nothing unverified is ever given the final name.
 */
export async function download(req: DownloadRequest): Promise<string> {
  await mkdir(req.dir, { recursive: true });
  const final = join(req.dir, `${req.sha256}-${req.fileName}`);
  if ((await sizeOf(final)) > 0 && (await sha256OfFile(final)) === req.sha256) return final;
  const partial = `${final}.partial`;
  const failures: string[] = [];
  for (const url of req.urls) {
    try {
      await fetchInto(url, partial, req);
    } catch (error) {
      if (error instanceof InterruptedError) throw error;
      failures.push(`${url}: ${(error as Error).message}`);
      continue;
    }
    const got = await sha256OfFile(partial);
    if (got !== req.sha256) {
      await rm(partial, { force: true });
      throw new DataError(`checksum mismatch for ${req.fileName} downloaded from ${url}`, {
        file: url,
        expected: `sha256 ${req.sha256}`,
        got: `sha256 ${got}`,
        hint:
          'the download is corrupt or the URL serves a different file; ' +
          'it was deleted and will be fetched again on the next run',
      });
    }
    await rename(partial, final);
    return final;
  }
  throw new DataError(`cannot download ${req.fileName}: ${failures.join('; ')}`, {
    file: req.urls[0],
    hint: req.offlineHint ?? 'check the network connection, or download the file yourself and use `source: file`',
  });
}

async function fetchInto(url: string, partial: string, req: DownloadRequest): Promise<void> {
  const have = await sizeOf(partial);
  const controller = new AbortController();
  const idleMs = req.idleTimeoutMs ?? 30_000;
  let timer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs / 1000}s`)), idleMs);
  const resetTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs / 1000}s`)), idleMs);
  };
  const onAbort = () => controller.abort(new InterruptedError());
  let received = have;
  req.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const response = await fetch(url, {
      headers: have > 0 ? { Range: `bytes=${have}-` } : {},
      signal: controller.signal,
      redirect: 'follow',
    });
    if (response.status === 416) {
      // The partial file is as long as (or longer than) the resource: start over.
      await rm(partial, { force: true });
      return fetchInto(url, partial, req);
    }
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    const resumed = response.status === 206 && have > 0;
    const length = Number(response.headers.get('content-length') ?? NaN);
    const total = Number.isFinite(length) ? length + (resumed ? have : 0) : undefined;
    const handle = await open(partial, resumed ? 'a' : 'w');
    received = resumed ? have : 0;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        resetTimer();
        await handle.write(chunk);
        received += chunk.length;
        req.onProgress?.(received, total);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (total !== undefined && received !== total)
      throw new Error(`connection closed after ${received} of ${total} bytes`);
  } catch (error) {
    const reason = controller.signal.reason;
    if (reason instanceof InterruptedError) throw reason;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? (error as NodeJS.ErrnoException).code;
    const what =
      reason instanceof Error
        ? reason.message
        : (NETWORK_ERRORS[code ?? ''] ?? cause?.message ?? (error as Error).message);
    throw new Error(
      received > 0
        ? `${what} after ${received} bytes (kept; the next run resumes)`
        : code && !(reason instanceof Error)
          ? `${what} (${code})`
          : what,
    );
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
  }
}

/** Network failures in words a user can act on. */
const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found (offline?)',
  EAI_AGAIN: 'name lookup failed (offline?)',
  ENETUNREACH: 'network unreachable (offline?)',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection lost',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};
