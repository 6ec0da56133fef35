import { gunzipSync } from 'node:zlib';
import { DataError } from '../engine/errors.ts';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;
const TYPE_NAMES: Record<number, string> = {
  8: 'ubyte',
  9: 'byte',
  11: 'short',
  12: 'int',
  13: 'float',
  14: 'double',
};

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Unzips when the bytes are gzip; a broken gzip stream is a DataError naming the file. */
export function maybeGunzip(bytes: Uint8Array, file: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return new Uint8Array(gunzipSync(bytes));
  } catch (error) {
    throw new DataError(`${file} is not a valid gzip file: ${(error as Error).message}`, {
      file,
      hint: 'the download is probably incomplete; delete it and fetch it again',
      cause: error,
    });
  }
}

/**
 * Parses an IDX file (LeCun's format for MNIST), gzipped or not. Only unsigned bytes are accepted,
 * which is what image and label files hold.
 */
export function parseIdx(raw: Uint8Array, file: string): IdxArray {
  const bytes = maybeGunzip(raw, file);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(`${file} is not an IDX file: wrong magic number`, {
      file,
      expected: 'magic 0x0000 then type and rank bytes (e.g. 00 00 08 03)',
      got: hex(bytes.subarray(0, 4)),
      hint: 'pass the uncompressed or .gz MNIST files (train-images-idx3-ubyte, ...)',
    });
  }
  if (bytes[2] !== UBYTE) {
    throw new DataError(
      `${file} holds IDX type ${TYPE_NAMES[bytes[2]] ?? `0x${bytes[2].toString(16)}`}, not unsigned bytes`,
      { file, expected: 'ubyte (0x08)', got: hex(bytes.subarray(2, 3)) },
    );
  }
  const rank = bytes[3];
  if (rank < 1 || bytes.length < 4 + 4 * rank) {
    throw new DataError(`${file} is truncated in its IDX header`, {
      file,
      expected: `${4 + 4 * rank} header bytes`,
      got: `${bytes.length} bytes`,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * rank;
  const have = bytes.length - start;
  if (have !== count) {
    throw new DataError(
      `${file} ${have < count ? 'is truncated' : 'has trailing bytes'}: its header announces ${dims.join('×')} values`,
      {
        file,
        expected: `${count} data bytes`,
        got: `${have}`,
        hint: have < count ? 'the file is incomplete; fetch it again' : 'this is not a well-formed IDX file',
      },
    );
  }
  return { dims, data: bytes.subarray(start) };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ') || '(empty)';
}
