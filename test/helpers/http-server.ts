import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Served {
  body: Uint8Array;
  /** Close the connection after this many bytes, on the first `cutOnce` requests. */
  cutAfter?: number;
  cutOnce?: number;
  /** Ignore Range headers (always answer 200 with the whole body). */
  noRanges?: boolean;
  /** Accept the request but never answer. */
  silent?: boolean;
}

/** A loopback HTTP server for download tests: the network edge, faked with a real socket. */
export async function serve(
  files: Record<string, Served>,
): Promise<{ url: string; requests: IncomingMessage[]; close(): Promise<void> }> {
  const requests: IncomingMessage[] = [];
  const cuts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    requests.push(req);
    const name = decodeURIComponent(new URL(req.url!, 'http://x').pathname.slice(1));
    const file = files[name];
    if (!file) {
      res.writeHead(404).end('not found');
      return;
    }
    if (file.silent) return;
    let start = 0;
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    if (range && !file.noRanges) start = Number(range[1]);
    const body = file.body.subarray(start);
    res.writeHead(start > 0 ? 206 : 200, {
      'content-length': String(body.length),
      ...(start > 0 ? { 'content-range': `bytes ${start}-${file.body.length - 1}/${file.body.length}` } : {}),
    });
    const cutCount = cuts.get(name) ?? 0;
    if (file.cutAfter !== undefined && cutCount < (file.cutOnce ?? 1)) {
      cuts.set(name, cutCount + 1);
      res.write(body.subarray(0, file.cutAfter), () => res.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
