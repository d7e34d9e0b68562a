import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * A real HTTP server on a loopback port that misbehaves on purpose: it echoes the request's
 * headers (the admin token among them) in its error answers, delays answers, or forwards to
 * a real sandbox while failing chosen requests. Tests use it where a well-behaved app cannot
 * show the fault.
 */
export interface HostileServer {
  url: string;
  /** Requests seen, as "METHOD /path". */
  seen: string[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

export async function startHostileServer(handler: Handler): Promise<HostileServer> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      void Promise.resolve(handler(req, res, Buffer.concat(chunks).toString('utf8'))).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers every request with a 500 whose body repeats the request headers, as some frameworks' debug pages do. */
export const echoHeaders: Handler = (req, res) => {
  res.writeHead(500, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: `request rejected; headers were ${JSON.stringify(req.headers)}` }));
};

/** Forwards to `target`, but lets `intercept` answer first (return true when it did). */
export function forwardTo(target: string, intercept: (req: IncomingMessage, res: ServerResponse, body: string) => boolean): Handler {
  return async (req, res, body) => {
    if (intercept(req, res, body)) return;
    const response = await fetch(`${target}${req.url}`, {
      method: req.method ?? 'GET',
      headers: Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)),
      ) as Record<string, string>,
      ...(body && req.method !== 'GET' ? { body } : {}),
    });
    res.writeHead(response.status, { 'content-type': response.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await response.arrayBuffer()));
  };
}
