import { type ArtifactValues, CODECS, decodeArtifact } from '../artifacts/codecs.ts';
import type { ArtifactKind } from '../artifacts/kinds.ts';
import type { ArtifactRef, StageContext, StageDefinition, StageOutput } from './stage.ts';
import type { ArtifactStore } from './store.ts';

/** Decoded artifacts by digest, the few most recent: stages of one run (a matrix) often read the same dataset. */
const decoded = new Map<string, unknown>();
const KEEP = 6;

/** An artifact from the store (checked against its digest), decoded by its kind's codec; once per process. */
export async function decodeRef<K extends ArtifactKind>(
  store: ArtifactStore,
  ref: ArtifactRef & { kind: K },
): Promise<ArtifactValues[K]> {
  const id = `${ref.kind}:${ref.digest}`;
  if (decoded.has(id)) {
    const value = decoded.get(id);
    decoded.delete(id);
    decoded.set(id, value);
    return value as ArtifactValues[K];
  }
  const value = decodeArtifact(ref.kind, await store.getBytes(ref));
  decoded.set(id, value);
  while (decoded.size > KEEP) decoded.delete(decoded.keys().next().value!);
  return value;
}

/** Every wired input of a stage, decoded. */
export async function decodeInputs(
  store: ArtifactStore,
  inputs: Record<string, ArtifactRef>,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, ref] of Object.entries(inputs)) out[name] = await decodeRef(store, ref);
  return out;
}

const isRef = (o: StageOutput): o is ArtifactRef => 'digest' in o && 'kind' in o;

/** A stage's outputs stored as artifacts of their declared kinds: values encoded by their codecs, bytes as they are. */
export async function storeOutputs(
  store: ArtifactStore,
  declared: Readonly<Record<string, ArtifactKind>>,
  outputs: Record<string, StageOutput | undefined>,
): Promise<Record<string, ArtifactRef>> {
  const refs: Record<string, ArtifactRef> = {};
  for (const [name, out] of Object.entries(outputs ?? {})) {
    const kind = declared[name];
    if (!out) continue;
    if (!kind || isRef(out)) {
      refs[name] = out as ArtifactRef;
      continue;
    }
    if ('bytes' in out) refs[name] = await store.putBytes(kind, out.bytes, out.meta);
    else {
      const encode = CODECS[kind].encode as ((v: unknown) => Uint8Array) | undefined;
      if (!encode) throw new Error(`artifact kind ${kind} has no encoder: return its bytes`);
      refs[name] = await store.putBytes(kind, encode(out.value), out.meta);
    }
  }
  return refs;
}

/** A stage computed in this process: its inputs decoded, its run, its outputs stored. */
export async function computeHere(
  store: ArtifactStore,
  def: StageDefinition,
  ctx: StageContext,
): Promise<Record<string, ArtifactRef>> {
  return storeOutputs(store, def.outputs, await def.run(ctx, (await decodeInputs(store, { ...ctx.inputs })) as never));
}
