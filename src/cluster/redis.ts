import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { FedauError } from '../core/errors.ts';

/** A Redis URL taken apart: `redis[s]://[user][:password]@host[:port][/db]`. */
export interface RedisTarget {
  tls: boolean;
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
}

const EXPECTED = 'redis://[:password@]host[:port][/db] or rediss://... for TLS';

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/**
 * Parses a Redis URL by hand rather than with WHATWG `URL`: a password may hold `/`, `@`, `#` or `?` (base64
 * passwords do), so the credentials end at the last `@`, and the host at the first `/` after it.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^(rediss?):\/\//i.exec(url);
  if (!scheme) {
    throw badUrl(url, /^[a-z][a-z0-9+.-]*:/i.test(url) ? `the scheme is ${url.split(':')[0]}:` : 'it is not a URL');
  }
  const rest = url.slice(scheme[0].length);
  const at = rest.lastIndexOf('@');
  const userinfo = at >= 0 ? rest.slice(0, at) : undefined;
  const location = at >= 0 ? rest.slice(at + 1) : rest;
  const slash = location.indexOf('/');
  const hostPort = slash < 0 ? location : location.slice(0, slash);
  const dbText = slash < 0 ? '' : location.slice(slash + 1);
  const hostMatch = /^(\[[0-9a-f:.]+\]|[^:[\]]*)(?::(\d{1,5}))?$/i.exec(hostPort);
  if (!hostMatch) throw badUrl(url, `"${hostPort}" is not a host[:port]`);
  const port = Number(hostMatch[2] ?? 6379);
  if (port < 1 || port > 65535) throw badUrl(url, `port ${port} is out of range`);
  if (dbText !== '' && !/^\d{1,5}$/.test(dbText)) {
    throw badUrl(url, `the database "${dbText}" is not a number`, 'the database is a number, e.g. /0 (the default)');
  }
  const colon = userinfo?.indexOf(':') ?? -1;
  const username = userinfo === undefined ? '' : colon < 0 ? userinfo : userinfo.slice(0, colon);
  const password = userinfo !== undefined && colon >= 0 ? userinfo.slice(colon + 1) : '';
  return {
    tls: scheme[1].toLowerCase() === 'rediss',
    host: (hostMatch[1] || '127.0.0.1').replace(/^\[|\]$/g, ''),
    port,
    username: username ? decode(username) : undefined,
    password: password ? decode(password) : undefined,
    db: dbText === '' ? 0 : Number(dbText),
  };
}

/** The URL with a password put in (from a file or the environment), percent-encoded so that it parses back. */
export function withPassword(url: string, password: string): string {
  const scheme = /^(rediss?):\/\//i.exec(url);
  if (!scheme) return url;
  const rest = url.slice(scheme[0].length);
  const at = rest.lastIndexOf('@');
  const user = at >= 0 ? rest.slice(0, at).split(':')[0] : '';
  return `${scheme[0]}${user}:${encodeURIComponent(password)}@${at >= 0 ? rest.slice(at + 1) : rest}`;
}

/**
 * `redis://:secret@host:6379/0` → `redis://:***@host:6379/0`: a password is never printed or logged, whatever it
 * holds, and even when the URL does not parse.
 */
export function maskUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!scheme) return url.includes('@') ? `***@${url.slice(url.lastIndexOf('@') + 1)}` : url;
  const rest = url.slice(scheme[0].length);
  const at = rest.lastIndexOf('@');
  if (at < 0) return url.replace(/\/$/, '');
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  const user = colon < 0 ? '' : userinfo.slice(0, colon);
  return `${scheme[0]}${user}:***@${rest.slice(at + 1)}`.replace(/\/$/, '');
}

/** Replaces the URL's password wherever it appears in a text, as written, decoded or percent-encoded. */
export function scrub(text: string, url: string): string {
  let password: string | undefined;
  try {
    password = parseRedisUrl(url).password;
  } catch {
    const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
    const at = rest.lastIndexOf('@');
    password = at >= 0 ? rest.slice(0, at).split(':').slice(1).join(':') : undefined;
  }
  if (!password) return text;
  const forms = new Set([password, encodeURIComponent(password)]);
  for (const form of forms) if (form.length >= 2) text = text.split(form).join('***');
  return text;
}

/**
 * ioredis options for a Redis URL: `redis://` or `rediss://` (TLS), with a password and a database when given.
 * `FEDAU_REDIS_CA` names a PEM file of the certificate authority that signed a TLS server's certificate.
 */
export function redisOptions(url: string): RedisOptions {
  const t = parseRedisUrl(url);
  const ca = process.env.FEDAU_REDIS_CA;
  return {
    host: t.host,
    port: t.port,
    username: t.username,
    password: t.password,
    db: t.db,
    ...(t.tls
      ? { tls: { ...(isIP(t.host) ? {} : { servername: t.host }), ...(ca ? { ca: readFileSync(ca) } : {}) } }
      : {}),
    // BullMQ's blocking commands need requests that wait for the connection instead of failing after retries.
    maxRetriesPerRequest: null,
  };
}

function badUrl(
  url: string,
  why: string,
  hint = 'e.g. --redis redis://127.0.0.1:6379 (or set FEDAU_REDIS)',
): FedauError {
  return new FedauError('FEDAU_USAGE', `--redis ${maskUrl(url)}: ${why}`, {
    expected: EXPECTED,
    got: maskUrl(url),
    hint,
  });
}

/**
 * A connected client, or a clear error within `timeoutMs`: an unreachable server, a wrong password, a TLS problem
 * or a database the server does not have stops the command at once instead of retrying forever, or going on in
 * database 0. Once connected, the client reconnects by itself.
 */
export async function connectRedis(url: string, opts: { timeoutMs?: number; name?: string } = {}): Promise<Redis> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const options = redisOptions(url);
  // Connected to database 0 first: the database is selected below, where a refusal can be told apart.
  const client = new Redis({
    ...options,
    db: 0,
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
        ? 'check the password (in the URL, FEDAU_REDIS or --redis-password-file)'
        : /certificate|SSL|TLS/i.test(reason)
          ? "the server's certificate is not trusted here: set FEDAU_REDIS_CA to the PEM file of the CA that signed it"
          : 'start it (`redis-server`), or point --redis (or FEDAU_REDIS) at a running one',
    });
  }
  const db = options.db ?? 0;
  try {
    await client.select(db);
  } catch (error) {
    client.disconnect();
    throw new FedauError('FEDAU_USAGE', `Redis at ${maskUrl(url)} has no database ${db}: ${(error as Error).message}`, {
      expected: 'a database the server has (0 to `CONFIG GET databases` − 1; 16 by default)',
      got: String(db),
      hint: 'use /0, or another database number the server has',
    });
  }
  // Reconnections select the database again, as the first connection did.
  client.options.db = db;
  client.options.retryStrategy = (times) => Math.min(500 * times, 2000);
  return client;
}
