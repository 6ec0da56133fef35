import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { FedauError } from '../engine/errors.ts';

/** `redis://:secret@host:6379/0` → `redis://:***@host:6379/0`: a password is never printed or logged. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/([^@/]*)@/, '//***@');
  }
}

/** Replaces the URL's password wherever it appears in a text (error messages of libraries included). */
export function scrub(text: string, url: string): string {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password ? text.split(password).join('***') : text;
  } catch {
    return text;
  }
}

/**
 * ioredis options for a Redis URL: `redis://` or `rediss://` (TLS), with a password and a database when given.
 * `FEDAU_REDIS_CA` names a PEM file of the certificate authority that signed a TLS server's certificate.
 */
export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badUrl(url, 'it is not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw badUrl(url, `the scheme is ${u.protocol}`);
  const ca = process.env.FEDAU_REDIS_CA;
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    ...(u.protocol === 'rediss:'
      ? { tls: { ...(isIP(u.hostname) ? {} : { servername: u.hostname }), ...(ca ? { ca: readFileSync(ca) } : {}) } }
      : {}),
    // BullMQ's blocking commands need requests that wait for the connection instead of failing after retries.
    maxRetriesPerRequest: null,
  };
}

function badUrl(url: string, why: string): FedauError {
  return new FedauError('FEDAU_USAGE', `--redis ${maskUrl(url)}: ${why}`, {
    expected: 'redis://[:password@]host[:port][/db] or rediss://... for TLS',
    got: maskUrl(url),
    hint: 'e.g. --redis redis://127.0.0.1:6379 (or set FEDAU_REDIS)',
  });
}

/**
 * A connected client, or a clear error within `timeoutMs`: an unreachable server, a wrong password or a TLS
 * problem stops the command at once instead of retrying forever. Once connected, the client reconnects by itself.
 */
export async function connectRedis(url: string, opts: { timeoutMs?: number; name?: string } = {}): Promise<Redis> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const client = new Redis({
    ...redisOptions(url),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    connectionName: opts.name,
    // While connecting the first time, a failure is final; afterwards, retry every half second.
    retryStrategy: () => null,
  });
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
    ]);
    await client.ping();
  } catch (error) {
    client.disconnect();
    const reason = scrub(((lastError ?? error) as Error).message, url);
    throw new FedauError('FEDAU_REDIS', `cannot reach Redis at ${maskUrl(url)}: ${reason}`, {
      hint: /NOAUTH|WRONGPASS|invalid password/i.test(reason)
        ? 'check the password in the URL'
        : /certificate|SSL|TLS/i.test(reason)
          ? "the server's certificate is not trusted here: set FEDAU_REDIS_CA to the PEM file of the CA that signed it"
          : 'start it (`redis-server`), or point --redis (or FEDAU_REDIS) at a running one',
    });
  }
  client.options.retryStrategy = (times) => Math.min(500 * times, 2000);
  return client;
}
