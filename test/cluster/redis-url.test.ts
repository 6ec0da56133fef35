import { describe, expect, it } from 'vitest';
import { redisUrl } from '../../src/cli/common.ts';
import { maskUrl, parseRedisUrl, scrub, withPassword } from '../../src/cluster/redis.ts';
import { FedauError } from '../../src/core/errors.ts';

describe('Redis URLs', () => {
  it('a password with / @ + = (base64) parses, and is masked in every form', () => {
    const password = 'q/Z+8@x=/==';
    const url = `redis://:${password}@10.0.0.5:6380/3`;
    expect(parseRedisUrl(url)).toEqual({
      tls: false,
      host: '10.0.0.5',
      port: 6380,
      password,
      db: 3,
      username: undefined,
    });
    expect(maskUrl(url)).toBe('redis://:***@10.0.0.5:6380/3');
    const encoded = withPassword('rediss://alice@h', password);
    expect(parseRedisUrl(encoded)).toMatchObject({ tls: true, username: 'alice', password, host: 'h', port: 6379 });
    expect(maskUrl(encoded)).toBe('rediss://alice:***@h');
    const said = `AUTH failed for ${password} (sent as ${encodeURIComponent(password)}) to ${url}`;
    expect(scrub(said, url)).not.toContain('Z+8');
    expect(scrub(said, encoded)).not.toContain('Z%2B8');
  });

  it('a database that is not a number is a usage error (exit 2), with the reason', () => {
    const error = (() => {
      try {
        parseRedisUrl('redis://:pw/abc@127.0.0.1:6379/abc');
      } catch (e) {
        return e as FedauError;
      }
    })();
    expect(error).toBeInstanceOf(FedauError);
    expect(error!.code).toBe('FEDAU_USAGE');
    expect(error!.message).toBe('--redis redis://:***@127.0.0.1:6379/abc: the database "abc" is not a number');
  });

  it('the password may come from a file; one written in --redis is warned about', () => {
    const warnings: string[] = [];
    const warn = (t: string) => warnings.push(t);
    expect(redisUrl({ redis: 'redis://:s3cret@h:1' }, { env: {}, warn })).toBe('redis://:s3cret@h:1');
    expect(warnings[0]).toContain('visible to other users of this machine (ps)');
    warnings.length = 0;
    expect(redisUrl({}, { env: { FEDAU_REDIS: 'redis://:s3cret@h:1' }, warn })).toBe('redis://:s3cret@h:1');
    expect(warnings).toEqual([]);
    expect(() => redisUrl({ redis: 'redis://h', 'redis-password-file': '/nonexistent/pw' }, { env: {} })).toThrow(
      /cannot read the Redis password file \/nonexistent\/pw/,
    );
  });
});
