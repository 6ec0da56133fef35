import { packContainer, unpackContainer } from './container.ts';

/** A report: the files written to reports/<pipeline>/, by name, kept in the store so a cache hit can rewrite them. */
export type ReportFiles = Record<string, Uint8Array>;

export function packReport(files: ReportFiles): Uint8Array {
  const names = Object.keys(files).sort();
  return packContainer('report', { files: names }, Object.fromEntries(names.map((n) => [n, files[n]])));
}

export function unpackReport(bytes: Uint8Array): ReportFiles {
  const { header, sections } = unpackContainer<{ files: string[] }>(bytes, 'report');
  return Object.fromEntries(header.files.map((n) => [n, sections[n] as Uint8Array]));
}
