// Types of scripts/check-size.mjs, for the architecture test that runs it.
export declare const MAX_FILE_LINES: number;
export declare const MAX_FUNCTION_LINES: number;
export declare function longFunctions(
  text: string,
  file: string,
  limit?: number,
): { name: string; start: number; lines: number }[];
export declare function sizeProblems(root?: string): string[];
