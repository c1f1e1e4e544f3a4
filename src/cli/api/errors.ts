/**
 * One funnel from failures to HTTP answers: a VtlError keeps its stable code and message, and its
 * code alone picks the status, so the `vtl` client can print the library's own words.
 */
import { MigrationError, type MigrationErrorCode } from '../../migrate/remote.js';
import { VtlError, type VtlErrorCode } from '../../util/errors.js';
import { MoveError } from '../../vtl/inventory/inventory.js';
import type { ApiErrorBody, ApiErrorCode } from './types.js';

/** A refusal decided by the HTTP layer itself (route, auth, body). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** HTTP status per library error code; codes absent here are server faults (500). */
const STATUS_BY_CODE: Partial<Record<VtlErrorCode, number>> = {
  ERR_LABEL: 400,
  ERR_INVALID_ARGUMENT: 400,
  ERR_IMAGE_NOT_FOUND: 404,
  ERR_NOT_FOUND: 404,
  ERR_STATE: 409,
  ERR_IMAGE_EXISTS: 409,
};

/**
 * Migration failures a request can meet: a job in the wrong state (or an active job for the
 * cartridge), an export missing on the remote, the remote refusing a listing.
 */
const STATUS_BY_MIGRATION_CODE: Partial<Record<MigrationErrorCode, number>> = {
  ERR_JOB: 409,
  ERR_MISSING: 404,
  ERR_REMOTE: 502,
};

export interface ErrorAnswer {
  status: number;
  body: ApiErrorBody;
  headers: Record<string, string>;
  /** True when the server is at fault: logged at error level with the stack. */
  internal: boolean;
}

export function errorAnswer(err: unknown): ErrorAnswer {
  if (err instanceof ApiError) {
    return { status: err.status, body: body(err.code, err.message), headers: err.headers, internal: false };
  }
  // A refused move is a conflict with the library's state whatever its reason (the element
  // named exists in the request but not in a state that allows the move).
  if (err instanceof MoveError) {
    return { status: 409, body: body(err.code, err.message), headers: {}, internal: false };
  }
  if (err instanceof MigrationError) {
    const status = STATUS_BY_MIGRATION_CODE[err.code];
    if (status !== undefined)
      return { status, body: body(err.code, err.message), headers: {}, internal: false };
  }
  if (err instanceof VtlError) {
    const status = STATUS_BY_CODE[err.code];
    if (status !== undefined)
      return { status, body: body(err.code, err.message), headers: {}, internal: false };
  }
  return {
    status: 500,
    body: body('ERR_INTERNAL', 'internal error; the server log has the details'),
    headers: {},
    internal: true,
  };
}

function body(code: ApiErrorCode, message: string): ApiErrorBody {
  return { error: { code, message } };
}
