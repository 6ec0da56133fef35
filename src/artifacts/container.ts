import { canonicalJson } from '../core/hash.ts';

/**
 * fedau's binary artifact container: a magic, a JSON header (canonical, so the same content gives the same
 * bytes) with a table of sections, then the sections, each aligned to 16 bytes so typed-array views of
 * float32 or int32 data need no copy.
 *
 *   "FEDAUBIN" | u32 LE header length | header JSON | zero padding | section 0 | padding | section 1 ...
 */
const MAGIC = 'FEDAUBIN';
const ALIGN = 16;

export type Dtype = 'uint8' | 'int32' | 'float32' | 'uint16' | 'int16';
export type TypedArray = Uint8Array | Int32Array | Float32Array | Uint16Array | Int16Array;

interface SectionEntry {
  name: string;
  dtype: Dtype;
  offset: number;
  length: number;
}

export interface Container<H> {
  header: H;
  sections: Record<string, TypedArray>;
}

export function dtypeOf(array: TypedArray): Dtype {
  if (array instanceof Uint8Array) return 'uint8';
  if (array instanceof Int32Array) return 'int32';
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Uint16Array) return 'uint16';
  return 'int16';
}

const CTORS = {
  uint8: Uint8Array,
  int32: Int32Array,
  float32: Float32Array,
  uint16: Uint16Array,
  int16: Int16Array,
} as const;

export function packContainer<H extends object>(
  kind: string,
  header: H,
  sections: Record<string, TypedArray>,
): Uint8Array {
  const names = Object.keys(sections);
  // Offsets depend on the header's length, which depends on the offsets: lay out relative to the data start.
  const table: SectionEntry[] = [];
  let cursor = 0;
  for (const name of names) {
    const array = sections[name];
    table.push({ name, dtype: dtypeOf(array), offset: cursor, length: array.length });
    cursor = align(cursor + array.byteLength);
  }
  const headerBytes = new TextEncoder().encode(canonicalJson({ kind, header, sections: table }));
  const dataStart = align(MAGIC.length + 4 + headerBytes.length);
  const out = new Uint8Array(dataStart + cursor);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, headerBytes.length, true);
  out.set(headerBytes, MAGIC.length + 4);
  table.forEach((entry, i) => {
    const array = sections[names[i]];
    out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), dataStart + entry.offset);
  });
  return out;
}

/** Views into `bytes` (no copy when aligned). Throws on a wrong magic, kind, or truncated data. */
export function unpackContainer<H>(bytes: Uint8Array, expectedKind: string): Container<H> {
  const magic = new TextDecoder().decode(bytes.subarray(0, MAGIC.length));
  if (magic !== MAGIC) throw new Error(`not a fedau artifact (magic ${JSON.stringify(magic)})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(MAGIC.length, true);
  const parsed = JSON.parse(
    new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLength)),
  ) as {
    kind: string;
    header: H;
    sections: SectionEntry[];
  };
  if (parsed.kind !== expectedKind) throw new Error(`expected a ${expectedKind} artifact, got ${parsed.kind}`);
  const dataStart = align(MAGIC.length + 4 + headerLength);
  // Copy into an aligned buffer once if the caller's bytes are not 16-byte aligned.
  const base = (bytes.byteOffset + dataStart) % ALIGN === 0 ? bytes : new Uint8Array(bytes);
  const sections: Record<string, TypedArray> = {};
  for (const s of parsed.sections) {
    const Ctor = CTORS[s.dtype];
    const start = base.byteOffset + dataStart + s.offset;
    if (dataStart + s.offset + s.length * Ctor.BYTES_PER_ELEMENT > base.byteLength)
      throw new Error(`artifact truncated in section ${s.name}`);
    sections[s.name] = new Ctor(base.buffer as ArrayBuffer, start, s.length);
  }
  return { header: parsed.header, sections };
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
