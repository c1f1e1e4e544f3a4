/**
 * What a running export or import job gets from the Migrator, plus the two pieces both share:
 * the retry policy (QUADStor's retry exit codes, attempts and pause) and a counting semaphore
 * that bounds chunks in the cache and transfers in flight.
 */
import type { Logger } from '../util/log.js';
import type { ImageBackend } from '../vtl/image/types.js';
import type { MigrationConfig } from './config.js';
import type { JobRecord } from './job-store.js';
import { MigrationError, sleep, type Remote } from './remote.js';

export interface JobContext {
  config: MigrationConfig;
  backend: ImageBackend;
  remote: Remote;
  cacheDir: string;
  logger: Logger;
  /** Aborted on cancel and on close. */
  signal: AbortSignal;
  /** Persists the job record (after a chunk is verified, a state change). */
  save(): Promise<void>;
  /** Reports progress (bytesDone/rate already updated on the record). */
  progress(): void;
}

/** A failure is retried when its exit code is listed, or when a hash did not match. */
export function isRetryable(err: unknown, config: MigrationConfig): boolean {
  if (!(err instanceof MigrationError)) return false;
  if (err.code === 'ERR_VERIFY') return true;
  if (err.code !== 'ERR_REMOTE' || err.exitCode === undefined) return false;
  return config.retryExitCodes.includes(err.exitCode);
}

/**
 * Runs `attempt` up to 1 + retryCount times, pausing retryPause seconds between attempts, as
 * long as the failure is retryable. `onFailure` sees every failed attempt (to record it).
 */
export async function withRetries<T>(
  ctx: JobContext,
  what: string,
  attempt: () => Promise<T>,
  onFailure: (err: Error, willRetry: boolean) => void = () => undefined,
): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof MigrationError && err.code === 'ERR_CANCELLED') throw err;
      if (ctx.signal.aborted) throw new MigrationError('ERR_CANCELLED', 'cancelled');
      const e = err instanceof Error ? err : new Error(String(err));
      const willRetry = tries <= ctx.config.retryCount && isRetryable(e, ctx.config);
      onFailure(e, willRetry);
      if (!willRetry) throw e;
      ctx.logger.warn('attempt failed, retrying', {
        what,
        attempt: tries,
        pause: ctx.config.retryPause,
        error: e.message,
      });
      await sleep(ctx.config.retryPause * 1000, ctx.signal);
    }
  }
}

export class Semaphore {
  private waiters: (() => void)[] = [];
  private free: number;

  constructor(size: number) {
    this.free = size;
  }

  async acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new MigrationError('ERR_CANCELLED', 'cancelled');
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        reject(new MigrationError('ERR_CANCELLED', 'cancelled'));
      };
      this.waiters.push(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next !== undefined) next();
    else this.free++;
  }
}

/** Updates `rate` from the bytes moved since the run started. */
export function updateRate(job: JobRecord, runStartedAt: number, bytesAtStart: number): void {
  const sec = (Date.now() - runStartedAt) / 1000;
  job.rate = sec > 0 ? Math.max(0, Math.round((job.bytesDone - bytesAtStart) / sec)) : 0;
}
