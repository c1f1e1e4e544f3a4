/**
 * The post-vault hook (QUADStor's PostVaultCmd): a command run with the cartridge's barcode as
 * its last argument after the cartridge reaches the vault. Argv list, never a shell; killed by
 * PID after the timeout; its output is logged line by line (bounded).
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../util/log.js';

export interface HookResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The first 64 KiB of stdout and stderr, interleaved as received. */
  output: string;
}

const MAX_OUTPUT = 64 * 1024;

export function runPostVaultCmd(
  argv: readonly string[],
  barcode: string,
  timeoutSec: number,
  logger: Logger,
): Promise<HookResult> {
  const log = logger.child({ component: 'post-vault', barcode });
  return new Promise((resolve) => {
    // Its own process group, so a timeout kills the command and whatever it started.
    const child = spawn(argv[0], [...argv.slice(1), barcode], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    let output = '';
    let timedOut = false;
    const take = (stream: string) => (b: Buffer) => {
      const text = b.toString('utf8');
      if (output.length < MAX_OUTPUT) output += text.slice(0, MAX_OUTPUT - output.length);
      for (const line of text.split('\n')) if (line.trim() !== '') log.info('output', { stream, line });
    };
    child.stdout.on('data', take('stdout'));
    child.stderr.on('data', take('stderr'));
    const timer = setTimeout(() => {
      timedOut = true;
      log.warn('timed out, killing', { pid: child.pid, timeoutSec });
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 2000).unref();
    }, timeoutSec * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      log.error('cannot run', { argv, error: err.message });
      resolve({ code: null, signal: null, timedOut: false, output: err.message });
    });
    let settled = false;
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const level = code === 0 ? 'info' : 'warn';
      log[level]('finished', { argv, code, signal, timedOut });
      resolve({ code, signal, timedOut, output });
    };
    child.on('close', done);
    // A background process of the hook may keep its output pipes open: do not wait for it.
    child.on('exit', (code, signal) => setTimeout(() => done(code, signal), 500).unref());
  });
}
