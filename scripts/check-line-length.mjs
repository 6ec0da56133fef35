// Fails when a source line is longer than 120 characters: the formatter wraps code at 120, but it cannot wrap a
// long string or comment, so this check catches what it leaves. Run by `npm run lint` (and so by `npm test`).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 120;
const SOURCE = /\.(ts|tsx|js|mjs|py|sh)$/;
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' })
  .split('\n')
  .filter((f) => SOURCE.test(f) && !f.startsWith('src/generated/'));
const long = [];
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // deleted in the working tree
  }
  text.split('\n').forEach((line, i) => {
    if ([...line].length > MAX) long.push(`${file}:${i + 1}: ${[...line].length} characters`);
  });
}
if (long.length) {
  process.stderr.write(`${long.join('\n')}\n✖ ${long.length} line(s) longer than ${MAX} characters\n`);
  process.exit(1);
}
