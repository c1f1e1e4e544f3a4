/**
 * The rclone remote: one `rclone` process per operation, arguments as an argv list (never a
 * shell), `--retries 1` so our attempts × pause is the only outer retry loop, JSON logs on
 * stderr for progress and the error message, and a kill by PID on cancel. Forms and exit codes
 * are the ones measured on rclone 1.60 (shared/reference/migrate.md 2.1–2.6).
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../util/log.js';
import { silentLogger } from '../util/log.js';
import {
  EXIT,
  MigrationError,
  joinRemote,
  type Remote,
  type RemoteEntry,
  type RemoteHash,
  type TransferOptions,
} from './remote.js';

export interface RcloneOptions {
  /** `gdrive:`, `s3:bucket/path`, `name:/abs/path`. */
  remote: string;
  /** The rclone binary (or a wrapper standing in for it). */
  binary?: string;
  /** Extra flags placed before the subcommand, e.g. `--config /etc/rclone.conf`. */
  flags?: readonly string[];
  /** Variables added to the curated environment (e.g. `RCLONE_CONFIG_<NAME>_<KEY>`). */
  env?: Readonly<Record<string, string>>;
  logger?: Logger;
  /** Grace period between SIGTERM and SIGKILL on cancel, ms. */
  killGraceMs?: number;
}

export interface RcloneResult {
  code: number;
  stdout: string;
  /** The last error-level log message (or the last stderr line when not JSON). */
  lastError: string;
}

/** Fields of a `--use-json-log` stats line (migrate.md 2.3). */
interface StatsLine {
  stats?: { bytes?: number; totalBytes?: number };
  level?: string;
  msg?: string;
}

/**
 * Variables that break rclone when inherited (migrate.md 3: AWS_CA_BUNDLE makes every 1.60 S3
 * remote fail at start). The user passes them through `env` when they mean them.
 */
const DROPPED_ENV = ['AWS_CA_BUNDLE'];

export class RcloneRemote implements Remote {
  readonly description: string;
  private readonly binary: string;
  private readonly flags: readonly string[];
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: Logger;
  private readonly killGraceMs: number;

  constructor(private readonly options: RcloneOptions) {
    this.description = options.remote;
    this.binary = options.binary ?? 'rclone';
    this.flags = options.flags ?? [];
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of DROPPED_ENV) delete env[k];
    this.env = { ...env, ...options.env };
    this.log = (options.logger ?? silentLogger).child({ component: 'rclone' });
    this.killGraceMs = options.killGraceMs ?? 3000;
  }

  private target(path: string): string {
    return joinRemote(this.options.remote, path);
  }

  /** Runs one rclone command; resolves with its exit code (never rejects for a non-zero exit). */
  run(args: readonly string[], options: TransferOptions = {}): Promise<RcloneResult> {
    const argv = ['--retries', '1', '--use-json-log', ...this.flags, ...args];
    const { signal, onProgress } = options;
    if (signal?.aborted === true) return Promise.reject(new MigrationError('ERR_CANCELLED', 'cancelled'));
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, argv, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
      const pid = child.pid;
      this.log.debug('spawn', { pid, argv });
      const out: Buffer[] = [];
      let errTail = '';
      let lastError = '';
      let killTimer: NodeJS.Timeout | undefined;
      let cancelled = false;
      const onLine = (line: string): void => {
        if (line.trim() === '') return;
        let parsed: StatsLine | null = null;
        if (line.startsWith('{')) {
          try {
            parsed = JSON.parse(line) as StatsLine;
          } catch {
            parsed = null;
          }
        }
        if (parsed === null) {
          // Fatal errors before logging is set up come as plain text ("Failed to copy: …").
          lastError = line.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '').trim();
          return;
        }
        if (parsed.stats !== undefined && onProgress !== undefined) {
          onProgress(parsed.stats.bytes ?? 0, parsed.stats.totalBytes ?? 0);
        }
        if ((parsed.level === 'error' || parsed.level === 'critical') && parsed.msg !== undefined) {
          lastError = parsed.msg.trim();
        }
      };
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (s: string) => {
        const lines = (errTail + s).split('\n');
        errTail = lines.pop() ?? '';
        lines.forEach(onLine);
      });
      const onAbort = (): void => {
        if (pid === undefined) return;
        cancelled = true;
        // Cancel = kill this process by PID (never by name); SIGKILL if it ignores SIGTERM.
        this.log.info('cancel: killing rclone', { pid });
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          return;
        }
        killTimer = setTimeout(() => {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }, this.killGraceMs);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      child.on('error', (err) => {
        signal?.removeEventListener('abort', onAbort);
        reject(
          new MigrationError('ERR_REMOTE', `cannot run ${this.binary}: ${err.message}`, {
            exitCode: EXIT.FATAL,
            cause: err,
          }),
        );
      });
      child.on('close', (code, sig) => {
        signal?.removeEventListener('abort', onAbort);
        if (killTimer !== undefined) clearTimeout(killTimer);
        onLine(errTail);
        if (cancelled) {
          reject(new MigrationError('ERR_CANCELLED', 'cancelled'));
          return;
        }
        const exit = code ?? 128 + (sig === null ? 0 : 9);
        resolve({ code: exit, stdout: Buffer.concat(out).toString('utf8'), lastError });
      });
    });
  }

  private async must(
    args: readonly string[],
    what: string,
    options: TransferOptions = {},
  ): Promise<RcloneResult> {
    const r = await this.run(args, options);
    if (r.code !== 0) {
      throw new MigrationError(
        'ERR_REMOTE',
        `rclone ${what} failed (exit ${r.code}): ${r.lastError || 'no message'}`,
        { exitCode: r.code },
      );
    }
    return r;
  }

  async upload(localPath: string, remotePath: string, options: TransferOptions = {}): Promise<void> {
    // copyto, not copy: copy treats the destination as a directory (migrate.md 2.1).
    // --ignore-times: a re-encoded chunk of the same size must be sent even to backends that
    // cannot keep modification times (webdav "other" compares sizes only).
    const stats = ['--stats', '1s', '--stats-log-level', 'NOTICE', '--ignore-times'];
    await this.must(
      [...stats, 'copyto', localPath, this.target(remotePath)],
      `copyto ${remotePath}`,
      options,
    );
  }

  async download(remotePath: string, localPath: string, options: TransferOptions = {}): Promise<void> {
    const stats = ['--stats', '1s', '--stats-log-level', 'NOTICE', '--ignore-times'];
    const r = await this.run([...stats, 'copyto', this.target(remotePath), localPath], options);
    if (r.code === EXIT.DIR_NOT_FOUND || r.code === EXIT.FILE_NOT_FOUND) {
      throw new MigrationError('ERR_MISSING', `${remotePath} is missing on ${this.description}`, {
        exitCode: r.code,
        chunk: remotePath,
      });
    }
    if (r.code !== 0) {
      throw new MigrationError(
        'ERR_REMOTE',
        `rclone copyto ${remotePath} failed (exit ${r.code}): ${r.lastError}`,
        {
          exitCode: r.code,
        },
      );
    }
  }

  /**
   * The stored MD5 from `lsjson --stat --hash-type md5`; when the backend has none (key absent,
   * empty string, or "hash unsupported") `md5sum --download`, which re-reads the object. An
   * empty hash is never accepted as a match (migrate.md 0.3).
   */
  async md5(remotePath: string, options: TransferOptions = {}): Promise<RemoteHash> {
    const target = this.target(remotePath);
    const stat = await this.run(['lsjson', '--stat', '--hash-type', 'md5', target], {
      signal: options.signal,
    });
    if (stat.code === 0) {
      let md5: unknown;
      try {
        md5 = (JSON.parse(stat.stdout) as { Hashes?: { md5?: unknown } }).Hashes?.md5;
      } catch {
        md5 = undefined;
      }
      if (typeof md5 === 'string' && /^[0-9a-f]{32}$/.test(md5)) return { md5, via: 'remote' };
    } else if (stat.code === EXIT.DIR_NOT_FOUND || stat.code === EXIT.FILE_NOT_FOUND) {
      throw new MigrationError('ERR_MISSING', `${remotePath} is missing on ${this.description}`, {
        exitCode: stat.code,
        chunk: remotePath,
      });
    }
    this.log.debug('no stored md5, hashing by download', { remotePath });
    const dl = await this.must(['md5sum', '--download', target], `md5sum --download ${remotePath}`, {
      signal: options.signal,
    });
    const md5 = dl.stdout.trim().split(/\s+/)[0] ?? '';
    if (!/^[0-9a-f]{32}$/.test(md5)) {
      throw new MigrationError('ERR_VERIFY', `rclone md5sum --download ${remotePath} gave no hash`, {
        chunk: remotePath,
        exitCode: EXIT.GENERIC,
      });
    }
    return { md5, via: 'download' };
  }

  async list(remoteDir: string, options: TransferOptions = {}): Promise<RemoteEntry[]> {
    const r = await this.run(['lsjson', this.target(remoteDir)], { signal: options.signal });
    if (r.code === EXIT.DIR_NOT_FOUND) return [];
    if (r.code !== 0) {
      throw new MigrationError(
        'ERR_REMOTE',
        `rclone lsjson ${remoteDir} failed (exit ${r.code}): ${r.lastError}`,
        {
          exitCode: r.code,
        },
      );
    }
    const rows = JSON.parse(r.stdout) as { Name: string; Size: number; IsDir: boolean }[];
    return rows
      .map((e) => ({ name: e.Name, size: e.Size, isDir: e.IsDir }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async deleteFile(remotePath: string, options: TransferOptions = {}): Promise<void> {
    const r = await this.run(['deletefile', this.target(remotePath)], { signal: options.signal });
    // 1.60 exits 1 for a missing object (migrate.md 2.6); absent is what we want.
    if (r.code === 0 || r.code === EXIT.DIR_NOT_FOUND || r.code === EXIT.FILE_NOT_FOUND) return;
    if (r.code === EXIT.GENERIC && /not found/i.test(r.lastError)) return;
    throw new MigrationError(
      'ERR_REMOTE',
      `rclone deletefile ${remotePath} failed (exit ${r.code}): ${r.lastError}`,
      {
        exitCode: r.code,
      },
    );
  }

  async purge(remoteDir: string, options: TransferOptions = {}): Promise<void> {
    if (remoteDir.split('/').filter((p) => p !== '').length === 0) {
      throw new MigrationError('ERR_REMOTE', 'refusing to purge the remote root', { exitCode: EXIT.GENERIC });
    }
    const r = await this.run(['purge', this.target(remoteDir)], { signal: options.signal });
    if (r.code === 0 || r.code === EXIT.DIR_NOT_FOUND) return;
    throw new MigrationError(
      'ERR_REMOTE',
      `rclone purge ${remoteDir} failed (exit ${r.code}): ${r.lastError}`,
      {
        exitCode: r.code,
      },
    );
  }
}
