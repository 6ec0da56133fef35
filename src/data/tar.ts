import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { DataError } from '../core/errors.ts';
import { sha256 } from '../core/hash.ts';
import { gunzipBounded, isGzip } from './idx.ts';

export interface TarEntry {
  name: string;
  type: 'file' | 'directory';
  data: Uint8Array;
}

const BLOCK = 512;
const TYPE_NAMES: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '6': 'a FIFO',
  '7': 'a contiguous file',
};

const text = (b: Uint8Array) => {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
};
const octal = (b: Uint8Array) => parseInt(text(b).trim() || '0', 8);

/**
 * Reads a tar archive (gzipped or not: ustar, GNU long names, pax paths) and checks every entry before anything
 * is written: an absolute name, a name that climbs out with `..`, a link or a device is refused with an error
 * naming the archive and the entry. An archive larger than `maxBytes` once unzipped is refused as it unzips.
 */
export function readTar(raw: Uint8Array, archive: string, maxBytes: number): TarEntry[] {
  if (!isGzip(raw) && raw.length > maxBytes) {
    throw new DataError(`${archive} is ${raw.length} bytes, more than the ${maxBytes} its dataset can take`, {
      file: archive,
      expected: `at most ${maxBytes} bytes`,
      got: `${raw.length}`,
      hint: 'this is not the dataset archive it claims to be',
    });
  }
  const bytes = isGzip(raw) ? gunzipBounded(raw, archive, maxBytes, 'its dataset can take') : raw;
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (offset + BLOCK <= bytes.length) {
    const header = bytes.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // end of archive
    checkChecksum(header, archive, offset);
    const size = octal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] || 48);
    const dataStart = offset + BLOCK;
    if (dataStart + size > bytes.length) {
      throw new DataError(`${archive} is truncated inside the entry at byte ${offset}`, {
        file: archive,
        hint: 'the download is incomplete; fetch it again',
      });
    }
    const data = bytes.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = text(data);
      continue;
    }
    if (type === 'x' || type === 'g') {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(data))?.[1];
      if (type === 'x' && path !== undefined) paxPath = path;
      continue;
    }
    const prefix = text(header.subarray(345, 500));
    const name =
      paxPath ?? longName ?? (prefix ? `${prefix}/${text(header.subarray(0, 100))}` : text(header.subarray(0, 100)));
    longName = paxPath = undefined;
    checkName(name, archive);
    if (type === '0') entries.push({ name, type: 'file', data });
    else if (type === '5') entries.push({ name, type: 'directory', data: new Uint8Array() });
    else {
      throw new DataError(
        `${archive} holds "${name}", which is ` +
          `${TYPE_NAMES[type] ?? `an entry of type ${JSON.stringify(type)}`}: refused`,
        {
          file: archive,
          hint:
            'fedau extracts only regular files and folders; ' +
            'a dataset archive has no reason to contain links or devices',
        },
      );
    }
  }
  return entries;
}

function checkChecksum(header: Uint8Array, archive: string, offset: number): void {
  const stored = octal(header.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
  if (sum !== stored)
    throw new DataError(`${archive} is not a valid tar archive (bad header checksum at byte ${offset})`, {
      file: archive,
      hint: 'the file is corrupt or not a .tar/.tar.gz archive',
    });
}

function checkName(name: string, archive: string): void {
  const parts = name.split(/[\\/]+/);
  if (isAbsolute(name) || /^[A-Za-z]:/.test(name) || name.startsWith('\\')) {
    throw new DataError(`${archive} holds the absolute path "${name}": refused`, {
      file: archive,
      hint: 'a safe archive names its entries relative to the extraction folder',
    });
  }
  if (parts.includes('..')) {
    throw new DataError(`${archive} holds "${name}", which climbs out of the extraction folder with "..": refused`, {
      file: archive,
      hint: 'the archive is corrupt or hostile; get it from the canonical URL',
    });
  }
}

/** Written last inside an extracted folder: each file's SHA-256, so a later reuse can check the folder's content. */
const MANIFEST = '.fedau-manifest.json';

/**
 * Extracts checked entries into `dest`, atomically: into a temporary sibling folder first, renamed once every
 * file (and the manifest of their digests) is written. A path that would still resolve outside `dest` is refused.
 */
export async function extractTar(entries: TarEntry[], dest: string): Promise<void> {
  if (await stat(dest).catch(() => undefined)) return;
  const tmp = `${dest}.partial-${randomBytes(4).toString('hex')}`;
  const root = resolve(tmp);
  const manifest: Record<string, string> = {};
  try {
    await mkdir(root, { recursive: true });
    for (const entry of entries) {
      const target = resolve(root, entry.name);
      if (target !== root && !target.startsWith(root + sep))
        throw new Error(`entry "${entry.name}" resolves outside the extraction folder`);
      if (entry.type === 'directory') await mkdir(target, { recursive: true });
      else {
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, entry.data);
        manifest[entry.name] = sha256(entry.data);
      }
    }
    await writeFile(join(root, MANIFEST), JSON.stringify({ files: manifest }));
    await rename(root, dest);
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    if ((error as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (error as NodeJS.ErrnoException).code === 'EEXIST')
      return; // another process won
    throw error;
  }
}

/** Whether `dir` holds an extraction whose every file still has the content its manifest recorded. */
export async function extractedIntact(dir: string): Promise<boolean> {
  try {
    const { files } = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as { files: Record<string, string> };
    for (const [name, digest] of Object.entries(files)) {
      if (sha256(new Uint8Array(await readFile(join(dir, name)))) !== digest) return false;
    }
    return true;
  } catch {
    return false;
  }
}
