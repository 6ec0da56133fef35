import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_PATH, generateStageParams } from '../scripts/gen-stage-params.ts';

describe('generated stage param types', () => {
  it('match the schemas (run `npm run gen` after changing a schema)', () => {
    expect(readFileSync(GENERATED_PATH, 'utf8')).toBe(generateStageParams());
  });
});
