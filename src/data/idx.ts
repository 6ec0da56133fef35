import { constants, gunzipSync } from 'node:zlib';
import { DataError } from '../core/errors.ts';

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

/** The largest IDX file fedau reads (MNIST's largest is 47 MB): a header that announces more is refused. */
export const MAX_IDX_BYTES = 1 << 30;

/**
 * Unzips gzip bytes, refusing to produce more than `limit` bytes: a small file that expands to gigabytes (a
 * "zip bomb", or a valid header followed by endless zeros) stops at the limit instead of exhausting memory.
 */
export function gunzipBounded(bytes: Uint8Array, file: string, limit: number, what: string): Uint8Array {
  try {
    return new Uint8Array(gunzipSync(bytes, { maxOutputLength: limit }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new DataError(`${file} unzips to more than ${limit} bytes, more than ${what}`, {
        file,
        expected: `at most ${limit} bytes once unzipped`,
        got: 'more',
        hint: 'the file is corrupt or not what it claims to be; fetch it again from its canonical source',
      });
    }
    throw new DataError(`${file} is not a valid gzip file: ${(error as Error).message}`, {
      file,
      hint: 'the download is probably incomplete; delete it and fetch it again',
      cause: error,
    });
  }
}

/** The first bytes of a gzip stream, without unzipping the rest (a cut stream is read as far as it goes). */
function gunzipPrefix(bytes: Uint8Array, want: number): Uint8Array {
  for (const cut of [512, 4096, 65536]) {
    try {
      const out = gunzipSync(bytes.subarray(0, cut), {
        finishFlush: constants.Z_SYNC_FLUSH,
        // A compressed block expands at most ~1032 times: this bounds what a prefix can cost.
        maxOutputLength: cut * 1100,
      });
      if (out.length >= want || cut >= bytes.length) return new Uint8Array(out);
    } catch {
      if (cut >= bytes.length) break;
    }
  }
  return new Uint8Array();
}

/** The size an IDX header announces: header bytes plus the product of its dimensions. */
function announcedSize(header: Uint8Array): number | undefined {
  if (header.length < 4) return undefined;
  const rank = header[3];
  if (header.length < 4 + 4 * rank) return undefined;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  let count = 1;
  for (let i = 0; i < rank; i++) count *= view.getUint32(4 + 4 * i, false);
  return 4 + 4 * rank + count;
}

/**
 * Unzips an IDX file when it is gzip, bounded by the size its own header announces (and by MAX_IDX_BYTES): one byte
 * more and it is refused, before the rest is ever unzipped.
 */
export function maybeGunzipIdx(bytes: Uint8Array, file: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  const announced = announcedSize(gunzipPrefix(bytes, 4 + 4 * 255)) ?? MAX_IDX_BYTES;
  if (announced > MAX_IDX_BYTES) {
    throw new DataError(`${file} announces ${announced} bytes in its IDX header, more than fedau reads`, {
      file,
      expected: `at most ${MAX_IDX_BYTES} bytes`,
      got: `${announced}`,
      hint: 'this is not an MNIST-family IDX file',
    });
  }
  return gunzipBounded(bytes, file, announced, 'its IDX header announces (trailing bytes)');
}

/**
 * Parses an IDX file (LeCun's format for MNIST), gzipped or not. Only unsigned bytes are accepted,
 * which is what image and label files hold.
 */
export function parseIdx(raw: Uint8Array, file: string): IdxArray {
  const bytes = maybeGunzipIdx(raw, file);
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
