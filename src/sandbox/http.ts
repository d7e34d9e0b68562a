import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppLogs } from './logs.js';
import type { Metrics } from './metrics.js';

export type Reply = { status: number; body: unknown; userType?: string; calculation?: { method: string; failed: boolean } };
export type Request = { params: string[]; query: URLSearchParams; body: unknown };
export interface Route {
  method: string;
  pattern: RegExp;
  admin: boolean;
  handler: (request: Request) => Reply | Promise<Reply>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function ok(body: Record<string, unknown>): Reply {
  return { status: 200, body: { success: true, ...body } };
}

/** Routing, bearer-token auth for admin routes, JSON bodies, metrics and the request log. */
export function createRouter(routes: Route[], options: { logs: AppLogs; metrics: Metrics; token: string }) {
  const tokenBytes = Buffer.from(options.token);
  return (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const matches = routes.filter((r) => r.pattern.test(url.pathname));
    const route = matches.find((r) => r.method === req.method);
    const finish = (reply: Reply) => {
      const latencyMs = performance.now() - started;
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
      // Only what users do counts towards the error rate and latency: an operator's admin calls
      // (some scan the whole activities table) are not the user experience being judged, and
      // the tool's own probes (its user agent) must not count as evidence about users.
      const probe = (req.headers['user-agent'] ?? '').startsWith('trimp-rollback/');
      if (!route?.admin && url.pathname !== '/health' && !probe) {
        options.metrics.record({
          latencyMs,
          error: reply.status >= 500,
          ...(reply.userType ? { userType: reply.userType } : {}),
          ...(reply.calculation ? { calculation: reply.calculation } : {}),
        });
      }
      options.logs.info(`${req.method} ${url.pathname} ${reply.status} ${latencyMs.toFixed(1)}ms`);
    };

    if (!route) {
      finish(matches.length ? { status: 405, body: { error: 'Method not allowed' } } : { status: 404, body: { error: 'Not found' } });
      return;
    }
    if (route.admin && !authorized(req.headers.authorization, tokenBytes)) {
      finish({ status: 401, body: { error: 'Authentication required' } });
      return;
    }
    readBody(req)
      .then((body) => route.handler({ params: route.pattern.exec(url.pathname)?.slice(1) ?? [], query: url.searchParams, body }))
      .then(finish)
      .catch((error: unknown) => {
        if (error instanceof HttpError) {
          finish({ status: error.status, body: { error: error.message } });
          return;
        }
        options.logs.error(`${req.method} ${url.pathname} failed: ${error instanceof Error ? error.message : String(error)}`);
        finish({ status: 500, body: { error: 'Internal server error' } });
      });
  };
}

function authorized(header: string | undefined, token: Buffer): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1] as string);
  return given.length === token.length && timingSafeEqual(given, token);
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 1_000_000) reject(new HttpError(413, 'body too large'));
      else chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size === 0) return resolve(undefined);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'body is not valid JSON'));
      }
    });
  });
}
