import { type Agent, Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AdminLogin } from '../config/config.js';
import { redactText, registerSecret, Secret } from '../config/secret.js';
import { ExitCode, messageOf, TrimpError, usageError } from '../errors.js';

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
 * one, or, for an app with session login, the session cookie (logged in at the first request,
 * and once more when the app forgets the session: a restarted app does). Nothing here ever puts
 * the token, the password or the cookie in a message; the cookie lives in this object only.
 */
export class AdminApi {
  private readonly agent: Agent;
  private session: Secret | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly token: Secret | undefined,
    private readonly timeoutMs: number,
    private readonly login?: AdminLogin,
  ) {
    this.agent = new (baseUrl.startsWith('https:') ? HttpsAgent : HttpAgent)({ keepAlive: true, maxSockets: 16 });
  }

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

  /**
   * Logs in (an app with session login; a no-op otherwise). A run calls it before its first
   * step, so that a wrong password stops it there, in one line.
   */
  async signIn(signal?: AbortSignal): Promise<void> {
    const login = this.login;
    if (!login || this.session) return;
    if (!login.password)
      throw usageError(
        'password-missing',
        `no admin password to log in to ${new URL(this.baseUrl).origin} as ${login.email}: none in TRIMP_ADMIN_PASSWORD or target.login.password_file`,
        'set TRIMP_ADMIN_PASSWORD, or write it into a file (chmod 600) named by target.login.password_file',
      );
    const answer = await this.exchange('POST', 'login', { email: login.email, password: login.password.reveal() }, signal, false);
    const cookie = /(?:^|,\s*)session=([^;,\s]+)/.exec(answer.headers['set-cookie']?.join(', ') ?? '')?.[1];
    if (answer.status === 401 || (answer.status === 200 && (answer.body as { success?: unknown })?.success === false)) {
      throw new TrimpError(
        'login-refused',
        `the app at ${new URL(this.baseUrl).origin} refused the login of ${login.email} (password from ${login.password.source}): wrong e-mail or password`,
        {
          exitCode: ExitCode.failed,
          remedy: "check target.login.email and the password; the app's admin is a user_settings row with is_admin",
        },
      );
    }
    if (answer.status !== 200 || !cookie) {
      throw new TrimpError(
        'login-failed',
        `POST /login at ${new URL(this.baseUrl).origin} answered HTTP ${answer.status}${cookie ? '' : ' without a session cookie'}: the app did not log the tool in`,
        { remedy: 'check target.base_url and target.profile (trainingmonkey logs in at /login with a JSON body)' },
      );
    }
    this.session = new Secret(cookie, 'the session cookie');
    registerSecret(this.session);
  }

  private expectOk<T>(method: string, path: string, response: HttpResponse): T {
    if ((response.status === 401 || response.status === 403) && this.login) {
      throw new TrimpError(
        'unauthorized',
        `the app refused ${method} ${path} to ${this.login.email} (HTTP ${response.status}): ${response.status === 403 ? 'logged in, but not an admin' : 'the session was not accepted'}`,
        { remedy: 'log in to the app as that user and check GET /api/user answers is_admin: true' },
      );
    }
    if (response.status === 401 || response.status === 403) {
      // Say which token was refused: a wrong one reads differently from none at all.
      const which = this.token ? `the admin token from ${this.token.source}` : 'the admin request, sent without a token';
      throw new TrimpError('unauthorized', `the app refused ${which}: ${method} ${path} answered HTTP ${response.status}`, {
        remedy: this.token
          ? "check that this is the app's current admin token"
          : 'set TRIMP_ADMIN_TOKEN or point target.token_file at the admin token file',
      });
    }
    if (response.status < 200 || response.status >= 300) {
      const detail = errorDetail(response.body);
      throw new TrimpError('http-error', `${method} ${path} answered HTTP ${response.status}${detail ? `: ${detail}` : ''}`);
    }
    return response.body as T;
  }

  /** Closes kept-alive connections (a CLI run ends right after). */
  close(): void {
    this.agent.destroy();
  }

  private async request(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<HttpResponse> {
    // /health asks for no login (a wrong password must not hide whether the app is up).
    if (!this.login || path === 'health') return this.exchange(method, path, body, signal, false);
    await this.signIn(signal);
    const first = await this.exchange(method, path, body, signal, true);
    if (first.status !== 401) return first;
    // The app forgot the session (a restarted app does): one new login, then the same request once more.
    this.session = undefined;
    await this.signIn(signal);
    return this.exchange(method, path, body, signal, true);
  }

  private async exchange(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    withSession: boolean,
  ): Promise<HttpResponse & { headers: IncomingHttpHeaders }> {
    // The tool says who it is, so that an app (the sandbox does) can keep its probes apart from users.
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT };
    if (withSession && this.session) headers.cookie = `session=${this.session.reveal()}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    if (this.token) headers.authorization = `Bearer ${this.token.reveal()}`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const url = this.url(path);
    let answer: { status: number; text: string; headers: IncomingHttpHeaders };
    try {
      const options = { method, headers, agent: this.agent, signal: signal ? AbortSignal.any([signal, timeout]) : timeout };
      answer = await send(url, options, payload).catch((error: unknown) => {
        // A kept-alive connection the server closed while it sat idle (its keep-alive timeout ran
        // out during a wait step): the request never reached the app, so once more on a new one.
        // (Every admin POST sets a state, so even a reset after the app acted is safe to repeat.)
        if ((error as { staleSocket?: boolean }).staleSocket) return send(url, options, payload);
        throw error;
      });
    } catch (error) {
      const stage = (error as { stage?: string }).stage === 'body' ? 'the answer stopped half-way' : '';
      throw unreachable(url, error, timeout.aborted ? this.timeoutMs : undefined, stage);
    }
    let parsed: unknown = answer.text;
    try {
      parsed = answer.text ? JSON.parse(answer.text) : undefined;
    } catch {
      // Not JSON: keep the text so that the caller can show it.
    }
    return { status: answer.status, body: parsed, headers: answer.headers };
  }
}

/** No admin answer is this large; a server streaming without end is cut off here. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * One HTTP exchange on node:http (a kept-alive connection: a run makes dozens of small calls,
 * and this costs a fraction of fetch's). The signal bounds the whole exchange, body included.
 */
function send(
  url: string,
  options: { method: string; headers: Record<string, string>; agent: Agent; signal: AbortSignal },
  payload: string | undefined,
): Promise<{ status: number; text: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    let answering = false; // once the headers are in, a failure is a torn answer, not a refused call
    const fail = (error: Error) =>
      reject(
        answering
          ? Object.assign(error, { stage: 'body' })
          : Object.assign(error, { staleSocket: request.reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET' }),
      );
    const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, options, (response) => {
      answering = true;
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) request.destroy(new Error(`the answer is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`));
        else chunks.push(chunk);
      });
      response.on('error', fail);
      response.on('aborted', () => fail(new Error('the connection closed before the answer ended')));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: response.headers }),
      );
    });
    request.on('error', fail);
    request.end(payload);
  });
}

function unreachable(url: string, error: unknown, timedOutAfterMs: number | undefined, stage = ''): TrimpError {
  const inner = (error as { cause?: { code?: string; message?: string } }).cause;
  const cause = (error as { code?: string }).code ?? inner?.code ?? inner?.message ?? messageOf(error);
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
  const oneLine = redactText(text).replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_DETAIL ? `${oneLine.slice(0, MAX_DETAIL)}…` : oneLine;
}
