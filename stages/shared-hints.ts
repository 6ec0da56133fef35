import { DataError } from '../src/core/errors.ts';
import type { ArtifactRef } from '../src/engine/stage.ts';

/** A method whose recording lacks what it needs: what to add to the training stage. */
export function recordingHint(stageId: string, setting: string, what: string): DataError {
  return new DataError(`the training's recording does not keep ${what}`, {
    path: `stages.${stageId}.needs.recording`,
    expected: `a recording made with ${setting}`,
    hint: `add \`record: { ${setting} }\` to the training stage's \`with:\` (the federation comes out byte-identical)`,
  });
}

/** What recording cost the training, in seconds: a method that reads the recording owes it. */
export function recordingSeconds(ref: ArtifactRef | undefined): number {
  return Number(ref?.meta?.seconds ?? 0);
}
