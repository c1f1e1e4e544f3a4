/**
 * The management API server (node:http, no framework): bearer-token check, a bounded JSON body,
 * route dispatch, one funnel for errors, and one structured log line per request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VtlError } from '../../util/errors.js';
import { silentLogger, type Logger } from '../../util/log.js';
import type { VirtualLibrary } from '../../vtl/library.js';
import { ApiError, errorAnswer } from './errors.js';
import { matchRoute } from './routes.js';
import { API_PREFIX } from './types.js';

/** Largest request body: the biggest legitimate one is a list of barcode ranges. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface ManagementApiOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 3270; 0 picks a free port. */
  port?: number;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string | undefined;
  logger?: Logger;
}

export interface ManagementApi {
  /** Base URL, e.g. http://127.0.0.1:3270 (the real port when 0 was asked). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startManagementApi(
  library: VirtualLibrary,
  options: ManagementApiOptions = {},
): Promise<ManagementApi> {
  const logger = (options.logger ?? silentLogger).child({ component: 'api' });
  const host = (options.host ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1');
  const tokenDigest = options.token !== undefined ? digest(options.token) : null;
  const server = createServer((req, res) => {
    void handle(library, tokenDigest, logger, req, res);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new VtlError(
          'ERR_TRANSPORT',
          `cannot start the management API on ${host}:${options.port ?? 3270}: ${err.code ?? err.message}` +
            (err.code === 'EADDRINUSE' ? ' (set "management.port" in the config, or --api-port)' : ''),
          { cause: err },
        ),
      );
    };
    server.once('error', onError);
    server.listen(options.port ?? 3270, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { url, port, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/** Hashing both sides first gives equal lengths, so the compare time says nothing of the token. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function authorized(tokenDigest: Buffer | null, header: string | undefined): boolean {
  if (!tokenDigest) return true;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return timingSafeEqual(digest(m ? m[1] : ''), tokenDigest) && m !== null;
}

async function handle(
  library: VirtualLibrary,
  tokenDigest: Buffer | null,
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = process.hrtime.bigint();
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://vtl.invalid');
  const path = url.pathname;
  let route: string | undefined;
  let status: number;
  let payload: unknown;
  let headers: Record<string, string> = {};
  let failure: { code: string; err?: unknown } | undefined;
  try {
    if (!authorized(tokenDigest, req.headers.authorization)) {
      throw new ApiError(
        401,
        'ERR_UNAUTHORIZED',
        'missing or wrong bearer token (Authorization: Bearer <token>)',
        {
          'www-authenticate': 'Bearer realm="vtl"',
        },
      );
    }
    if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) {
      throw new ApiError(
        404,
        'ERR_NOT_FOUND',
        `no such API route: ${method} ${path} (routes are under ${API_PREFIX})`,
      );
    }
    const match = matchRoute(method, path.slice(API_PREFIX.length));
    route = match.route.name;
    const body = await readJsonBody(req);
    if (!match.route.body && body !== undefined) {
      throw new VtlError('ERR_INVALID_ARGUMENT', `${method} ${path} takes no request body`);
    }
    const name = url.searchParams.get('library');
    const answer = await match.route.handler({
      server: library,
      library: library.library(name ?? undefined),
      params: match.params,
      body,
    });
    status = answer.status;
    payload = answer.body;
  } catch (err) {
    const a = errorAnswer(err);
    status = a.status;
    payload = a.body;
    headers = a.headers;
    failure = { code: a.body.error.code, ...(a.internal ? { err } : {}) };
  }
  const text = JSON.stringify(payload, null, 2) + '\n';
  // After a 413 the rest of the body is unread: close rather than parse it as the next request.
  if (status === 413) headers.connection = 'close';
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
  const fields = {
    method,
    path,
    ...(route ? { route } : {}),
    status,
    ms: Number(process.hrtime.bigint() - started) / 1e6,
    remote: req.socket.remoteAddress,
    ...(failure ? { code: failure.code } : {}),
  };
  if (failure?.err !== undefined) logger.error('api request failed', { ...fields, err: failure.err });
  else logger.info('api request', fields);
}

/** Past this a client is not sending JSON by mistake: drop the connection instead of draining it. */
const DRAIN_LIMIT = 16 * MAX_BODY_BYTES;

/**
 * The request body parsed as JSON; undefined when there is none. A body over MAX_BODY_BYTES is
 * drained (up to DRAIN_LIMIT) before the 413 goes out, so the client is still listening for it.
 */
function readJsonBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > DRAIN_LIMIT) {
        req.destroy();
        reject(tooLarge());
      } else if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return reject(tooLarge());
      if (size === 0) return resolve(undefined);
      const text = Buffer.concat(chunks, size).toString('utf8');
      try {
        resolve(JSON.parse(text) as unknown);
      } catch (err) {
        reject(
          new VtlError(
            'ERR_INVALID_ARGUMENT',
            `the request body is not valid JSON (${(err as Error).message})`,
          ),
        );
      }
    });
  });
}

function tooLarge(): ApiError {
  return new ApiError(413, 'ERR_BODY_TOO_LARGE', `the request body exceeds ${MAX_BODY_BYTES} bytes`);
}
