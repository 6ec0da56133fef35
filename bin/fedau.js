#!/usr/bin/env node
// The installed command: runs fedau's compiled JavaScript (dist/, built by `npm run build`, which `npm ci` and
// `npm pack` run through `prepare`). No TypeScript loader is involved, so the working directory's tsconfig and
// files can never change how fedau itself runs.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    '✖ fedau is not built: dist/ is missing   [FEDAU_USAGE]\n  hint: run `npm run build` in the checkout\n',
  );
  process.exit(2);
}

// `fedau plan x.yaml | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
// The command is done: exit once the output has drained, even if a library still holds a handle open (a Redis
// client retrying a server that went away, say), instead of hanging there.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
