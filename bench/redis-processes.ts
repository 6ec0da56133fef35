// Real processes for cluster tests and the cluster bench: a private redis-server on a free loopback port, and
// `fedau worker`s. Shared by test/ (through test/helpers/redis.ts) and bench/, which must not import tests.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';

/** The installed command's entry: fedau as a user runs it. */
const BIN = new URL('../bin/fedau.js', import.meta.url).pathname;
const tempDir = (prefix: string) => mkdtemp(join(tmpdir(), prefix));

/** Debian's redis-server, when the machine has it (`.ci/run` installs it). */
export function redisServerPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface TestRedis {
  url: string;
  port: number;
  /** For a TLS server: the CA file the clients must trust. */
  ca?: string;
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (as after a crash of a Redis that keeps nothing on disk). */
  start(): Promise<void>;
}

/** Self-signed CA and a server certificate for 127.0.0.1, made with openssl. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=fedau-test-ca',
  ]);
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  ]);
  await writeFile(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  ]);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

/** A private redis-server on a free loopback port: tests never share state with each other or the machine's. */
export async function startRedis(opts: { password?: string; tls?: boolean } = {}): Promise<TestRedis> {
  const dir = await tempDir('fedau-redis-');
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const certs = opts.tls ? await makeCertificates(dir) : undefined;
  const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  if (certs)
    args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', certs.cert, '--tls-key-file', certs.key);
  if (certs) args.push('--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'no');
  else args.push('--port', String(port));
  if (opts.password) args.push('--requirepass', opts.password);
  let child: ResultPromise | undefined;
  const start = async () => {
    child = execa(redisServerPath()!, args, { reject: false });
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('Ready to accept connections')) resolve();
      });
      child!.once('exit', () => reject(new Error('redis-server exited')));
    });
  };
  await start();
  const auth = opts.password ? `:${opts.password}@` : '';
  return {
    url: `${certs ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    port,
    ca: certs?.ca,
    start,
    async stop() {
      child?.kill('SIGKILL');
      await child;
    },
  };
}

export interface TestWorker {
  child: ResultPromise<{ reject: false; all: true }>;
  output: () => string;
  id: () => string | undefined;
}

/** A `fedau worker` process (the compiled CLI), ready once it says so. */
export async function startFedauWorker(
  url: string,
  opts: { backend?: string; env?: Record<string, string> } = {},
): Promise<TestWorker> {
  const store = join(await tempDir('fedau-worker-'), 'store');
  const child = execa(
    'node',
    [
      BIN,
      'worker',
      '--redis',
      url,
      '--store',
      store,
      '--reporter',
      'plain',
      ...(opts.backend ? ['--backend', opts.backend] : []),
    ],
    {
      env: { CI: '1', FEDAU_JOB_LOCK_MS: '2000', ...opts.env },
      reject: false,
      all: true,
    },
  );
  let output = '';
  child.all!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes('] ready on ')) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
    child.once('exit', () => {
      clearInterval(timer);
      reject(new Error(`the worker exited before it was ready:\n${output}`));
    });
  });
  return { child, output: () => output, id: () => /\[worker ([^\]]+)\] ready/.exec(output)?.[1] };
}
