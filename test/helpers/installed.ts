import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from './cli.ts';

export interface InstalledFedau {
  tarball: string;
  prefix: string;
  /** The `fedau` command of the install. */
  bin: string;
  /** Where the package itself went. */
  packageDir: string;
}

/**
 * Packs the checkout and installs the tarball into a fresh prefix, offline, laid out as `npm install -g --prefix`
 * does: the package under lib/node_modules/fedau with its locked production dependencies, and bin/fedau. The
 * dependencies come from the npm cache that `npm ci` filled, through npm-shrinkwrap.json, so nothing is
 * downloaded (npm's global install would ask the registry for metadata even with everything cached).
 */
export async function installPackedFedau(): Promise<InstalledFedau> {
  if (!existsSync(join(ROOT, 'dist/src/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const work = await mkdtemp(join(tmpdir(), 'fedau-install-'));
  const { stdout } = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: ROOT,
  });
  const tarball = join(work, (JSON.parse(stdout) as { filename: string }[])[0].filename);
  const prefix = join(work, 'prefix');
  const packageDir = join(prefix, 'lib/node_modules/fedau');
  await mkdir(join(prefix, 'lib/node_modules'), { recursive: true });
  await mkdir(join(prefix, 'bin'));
  await execa('tar', ['xzf', tarball, '-C', join(prefix, 'lib/node_modules')]);
  await rename(join(prefix, 'lib/node_modules/package'), packageDir);
  await execa('npm', ['ci', '--omit=dev', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], {
    cwd: packageDir,
    env: { npm_config_update_notifier: 'false' },
  });
  const bin = join(prefix, 'bin/fedau');
  await symlink('../lib/node_modules/fedau/bin/fedau.js', bin);
  return { tarball, prefix, bin, packageDir };
}
