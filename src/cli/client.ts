/**
 * The `vtl` commands' side of the management API: one request function over node:http that
 * turns the API's error bodies and connection failures into messages an operator can act on.
 */
import { request as httpRequest } from 'node:http';
import { API_PREFIX, type ApiErrorBody } from './api/types.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:3270';

/** An error the command prints as is and exits 1 on. */
export class ClientError extends Error {
  constructor(
    message: string,
    /** The API's error code, or ERR_CONNECT when the server could not be reached. */
    readonly code: string,
    /** HTTP status; 0 when there was no answer. */
    readonly status: number,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

export interface ClientOptions {
  /** Base URL; default VTL_API, then http://127.0.0.1:3270. */
  api?: string | undefined;
  /** Bearer token; default VTL_TOKEN. */
  token?: string | undefined;
  /** Milliseconds before giving up on an answer. */
  timeout?: number;
  /** The library every request is about, on a server running several; default VTL_LIBRARY. */
  library?: string | undefined;
}

export class ApiClient {
  readonly base: URL;
  private readonly token: string | undefined;
  private readonly timeout: number;
  private readonly library: string | undefined;

  constructor(options: ClientOptions = {}) {
    const text = options.api ?? process.env.VTL_API ?? DEFAULT_API_URL;
    let base: URL;
    try {
      base = new URL(text);
    } catch {
      throw new ClientError(
        `--api ${JSON.stringify(text)} is not a URL (e.g. ${DEFAULT_API_URL})`,
        'ERR_USAGE',
        0,
      );
    }
    if (base.protocol !== 'http:') {
      throw new ClientError(`--api ${JSON.stringify(text)}: only http:// is supported`, 'ERR_USAGE', 0);
    }
    this.base = base;
    const token = options.token ?? process.env.VTL_TOKEN;
    this.token = token === '' ? undefined : token;
    this.timeout = options.timeout ?? 30_000;
    const library = options.library ?? process.env.VTL_LIBRARY;
    this.library = library === '' ? undefined : library;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /** Sends one request below /api/v1 and resolves with the parsed JSON of a 2xx answer. */
  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(API_PREFIX + path, this.base);
    if (this.library !== undefined) url.searchParams.set('library', this.library);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const where = this.base.origin;
    return new Promise<T>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method,
          agent: false,
          timeout: this.timeout,
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
            ...(this.token !== undefined ? { authorization: `Bearer ${this.token}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              return reject(
                new ClientError(
                  `${where} answered ${status} without JSON: is it the vtl management API?`,
                  'ERR_PROTOCOL',
                  status,
                ),
              );
            }
            if (status >= 200 && status < 300) return resolve(json as T);
            const err = (json as Partial<ApiErrorBody>).error;
            reject(
              new ClientError(err?.message ?? `${where} answered ${status}`, err?.code ?? 'ERR_HTTP', status),
            );
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeout} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(connectError(err, where)));
      req.end(payload);
    });
  }
}

function connectError(err: NodeJS.ErrnoException, where: string): ClientError {
  if (err.code === 'ECONNREFUSED') {
    return new ClientError(
      `cannot reach the vtl management API at ${where} (connection refused): start the server with ` +
        '`vtl serve`, or point --api / VTL_API at it',
      'ERR_CONNECT',
      0,
    );
  }
  return new ClientError(
    `cannot reach the vtl management API at ${where}: ${err.code ?? err.message}`,
    'ERR_CONNECT',
    0,
  );
}
