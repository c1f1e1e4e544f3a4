import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runPostVaultCmd } from '../../src/migrate/hook.js';
import { createLogger } from '../../src/util/log.js';
import { makeCartridge, setup, TempDirs } from './support.js';

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

describe('post-vault command', () => {
  it('runs with the barcode as last argument, output logged, then the export starts', async () => {
    const dir = tmp.make();
    const script = join(dir, 'hook.sh');
    writeFileSync(script, `#!/bin/sh\necho "vaulted $2 ($1)"\necho "$2" > "${dir}/seen"\n`);
    chmodSync(script, 0o755);
    const lines: string[] = [];
    const s = setup(tmp, { remote: tmp.make(), postVaultCmd: [script, '--tag'] });
    await makeCartridge(s.backend, 'H00001L8', 4);
    const m = s.migrator();
    const { job, hook } = await m.vaulted('H00001L8');
    expect(hook?.code).toBe(0);
    expect(hook?.output).toBe('vaulted H00001L8 (--tag)\n');
    expect(readFileSync(join(dir, 'seen'), 'utf8')).toBe('H00001L8\n');
    expect((await m.wait(job.id)).state).toBe('completed');
    await m.close();
    const r = await runPostVaultCmd(
      [script, 'x'],
      'H00002L8',
      5,
      createLogger({ write: (l) => lines.push(l) }),
    );
    expect(r.code).toBe(0);
    expect(lines.some((l) => l.includes('"line":"vaulted H00002L8 (x)"'))).toBe(true);
  });

  it('is killed after its timeout', async () => {
    const r = await runPostVaultCmd(
      ['sh', '-c', 'sleep 30', 'hook'],
      'H00003L8',
      0.3,
      createLogger({ write: () => undefined }),
    );
    expect(r.timedOut).toBe(true);
    expect(r.code).toBe(null);
    expect(r.signal).toBe('SIGTERM');
  });
});
