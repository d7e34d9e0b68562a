import { redactText, type Secret } from '../config/secret.js';
import { messageOf, TrimpError } from '../errors.js';

/** `path` (no leading slash) under the base URL, keeping any path prefix the base URL has. */
export function apiUrl(baseUrl: string, path: string): string {
  return new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).toString();
}

export const USER_AGENT = 'trimp-rollback/0.1.0';

export interface HttpResponse {
  status: number;
  body: unknown;
}

/**
 * A small client for the app's admin API. Every request carries the bearer token when there is
 * one; nothing here ever puts the token in a message.
 */
export class AdminApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: Secret | undefined,
    private readonly timeoutMs: number,
  ) {}

  url(path: string): string {
    return apiUrl(this.baseUrl, path);
  }

  async get(path: string, options: { signal?: AbortSignal } = {}): Promise<HttpResponse> {
    return this.request('GET', path, undefined, options.signal);
  }

  async post(path: string, body: unknown, options: { signal?: AbortSignal } = {}): Promise<HttpResponse> {
    return this.request('POST', path, body, options.signal);
  }

  /** GET that must answer 2xx with `success: true` (or any JSON for /health). */
  async getOk<T>(path: string, options: { signal?: AbortSignal } = {}): Promise<T> {
    const response = await this.get(path, options);
    return this.expectOk<T>('GET', path, response);
  }

  async postOk<T>(path: string, body: unknown): Promise<T> {
    const response = await this.post(path, body);
    return this.expectOk<T>('POST', path, response);
  }

  private expectOk<T>(method: string, path: string, response: HttpResponse): T {
    if (response.status === 401 || response.status === 403) {
      throw new TrimpError('unauthorized', `the app refused the admin request ${method} ${path} (HTTP ${response.status})`, {
        remedy: 'set TRIMP_ADMIN_TOKEN or point target.token_file at the admin token file',
      });
    }
    if (response.status < 200 || response.status >= 300) {
      const detail = errorDetail(response.body);
      throw new TrimpError('http-error', `${method} ${path} answered HTTP ${response.status}${detail ? `: ${detail}` : ''}`);
    }
    return response.body as T;
  }

  private async request(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<HttpResponse> {
    // The tool says who it is, so that an app (the sandbox does) can keep its probes apart from users.
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token.reveal()}`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const url = this.url(path);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      throw unreachable(url, error, timeout.aborted ? this.timeoutMs : undefined);
    }
    let text: string;
    try {
      text = await readBounded(response);
    } catch (error) {
      throw unreachable(url, error, timeout.aborted ? this.timeoutMs : undefined, 'the answer stopped half-way');
    }
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: keep the text so that the caller can show it.
    }
    return { status: response.status, body: parsed };
  }
}

/** No admin answer is this large; a server streaming without end is cut off here. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

async function readBounded(response: Response): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error(`the answer is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function unreachable(url: string, error: unknown, timedOutAfterMs: number | undefined, stage = ''): TrimpError {
  const inner = (error as { cause?: { code?: string; message?: string } }).cause;
  const cause = inner?.code ?? inner?.message ?? messageOf(error);
  const why =
    timedOutAfterMs !== undefined
      ? `no ${stage ? 'complete ' : ''}answer within ${timedOutAfterMs} ms`
      : stage
        ? `${stage}: ${cause}`
        : cause;
  return new TrimpError('app-unreachable', `cannot reach the app at ${new URL(url).origin} (${why})`, {
    remedy: 'check that the app is running and target.base_url is right; when the app is down, use --via db',
  });
}

/** What an error answer said, cut short: a server may answer with a whole page (or echo our headers). */
const MAX_DETAIL = 200;
function errorDetail(body: unknown): string {
  const text =
    body && typeof body === 'object' && 'error' in body ? String((body as { error: unknown }).error) : typeof body === 'string' ? body : '';
  // Redacted before it is cut: a cut through an echoed token would leave a piece no search finds.
  const oneLine = redactText(text.replace(/\s+/g, ' ').trim());
  return oneLine.length > MAX_DETAIL ? `${oneLine.slice(0, MAX_DETAIL)}…` : oneLine;
}
