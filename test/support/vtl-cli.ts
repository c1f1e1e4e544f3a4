/**
 * The `vtl` command as an operator runs it, from the checkout through tsx: a child process with
 * the connection variables cleared (VTL_API, VTL_TOKEN, VTL_LIBRARY) unless a test sets them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const VTL_MAIN = join(REPO_ROOT, 'src/cli/main.ts');

export interface VtlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `vtl ARGS...`; the caller reads its pipes and waits for it. */
export function spawnVtl(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', VTL_MAIN, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, VTL_API: '', VTL_TOKEN: '', VTL_LIBRARY: '', ...env },
  });
}

/** Runs `vtl ARGS...` to its end and resolves with its exit code and output. */
export function runVtl(args: string[], env: Record<string, string> = {}): Promise<VtlRun> {
  const child = spawnVtl(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr })));
}
