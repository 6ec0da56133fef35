import { sha256 } from '../../core/hash.ts';

/**
 * Whether a job is among the sampled ones `fraction` asks to verify: decided by a hash of the job's identity, so
 * the same jobs are verified whatever worker answers them and in whatever order.
 */
export function sampledForVerification(fraction: number, identity: string): boolean {
  if (fraction <= 0) return false;
  if (fraction >= 1) return true;
  return verificationDraw(identity) < fraction;
}

/** A job's draw, uniform in [0, 1): it is verified when the draw is below the fraction. */
export function verificationDraw(identity: string): number {
  return Number.parseInt(sha256(`fedau-verify:${identity}`).slice(0, 12), 16) / 2 ** 48;
}

/** Byte for byte: two float arrays are the same only if every bit is (NaN included). */
export function sameFloats(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

export function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}
