/**
 * `vtl export`, `vtl import` and `vtl jobs` as a person or a script runs them, against a
 * library exporting to a plain directory remote and its management API in this process (port
 * 0): printed text, --json, refusals with the API's message, usage errors with exit 2. The
 * progress bar and the help text go through child processes; the refusals call the command
 * functions in-process (same parsing and HTTP requests, without a Node start per case).
 */
import { runVtl, type VtlRun } from '../support/vtl-cli.js';
import { libraryWithApi } from '../support/library-api.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ClientError } from '../../src/cli/client.js';
import type { ManagementApi } from '../../src/cli/api/server.js';
import type { JobResultView } from '../../src/cli/api/types.js';
import type { CommandIo } from '../../src/cli/commands/common.js';
import { exportCommand, importCommand, jobsCommand } from '../../src/cli/commands/migrate.js';
import { openTapeImage } from '../../src/vtl/image/index.js';
import { VirtualLibrary } from '../../src/vtl/library.js';

const vtl = runVtl;

/** Runs a command function in-process with captured output. */
async function call(
  command: (args: string[], io: CommandIo) => Promise<number>,
  args: string[],
): Promise<VtlRun> {
  let stdout = '';
  let stderr = '';
  const code = await command(args, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

describe('vtl export|import|jobs', () => {
  const scope = libraryWithApi('cli-migrate', (dir) => ({
    drives: [{}],
    changer: { slots: 4, mailslots: 1, cartridges: ['M00001L8..M00003L8'] },
    migration: { remote: join(dir, 'cloud'), chunkSize: 8192, maxThreads: 2, retryPause: 0 },
  }));
  let dir: string;
  let lib: VirtualLibrary;
  let api: ManagementApi;
  let at: string[];

  beforeAll(async () => {
    ({ dir, lib, api } = scope);
    const image = await openTapeImage(lib.backend, 'M00001L8');
    for (let i = 0; i < 20; i++) await image.writeBlock(Buffer.alloc(4096, i));
    await image.close();
    at = ['--api', api.url];
  });

  it('export --wait --json: the progress bar on stderr, the finished job on stdout', async () => {
    const r = await vtl(['export', 'M00001L8', '--wait', '--json', ...at]);
    expect(r.code).toBe(0);
    const bars = r.stderr.trimEnd().split('\n');
    expect(bars[0]).toMatch(/^\[\.{30}\] {3}0% .* export M00001L8 {2}(queued|running)$/);
    expect(bars.at(-1)).toMatch(/^\[#{30}\] 100% .* export M00001L8 {2}completed$/);
    const { job } = JSON.parse(r.stdout) as JobResultView;
    expect(job).toMatchObject({ id: '1', kind: 'export', barcode: 'M00001L8', state: 'completed' });
    expect(job.chunks.length).toBeGreaterThan(4);
    expect(existsSync(join(dir, 'cloud', job.remoteDir, 'M00001L8.manifest.json'))).toBe(true);
    // the cartridge stays where it was: `vtl export` is a copy unless deleteAfterExport
    expect(lib.inventory!.cartridge('M00001L8')?.location).toEqual({ type: 'slot', index: 0 });
  });

  it('refusals print the API message and exit 1; --json puts the error body on stdout', async () => {
    await lib.inventory!.move({ type: 'slot', index: 1 }, { type: 'drive', index: 0 });
    await lib.inventory!.insertIntoMailslot(
      (await lib.inventory!.createCartridges(['M00009L8'], { to: 'vault' }))[0].barcode,
    );
    const [drive, mailslot, unknown, noExport, noJob, full] = await Promise.all([
      call(exportCommand, ['M00002L8', ...at]),
      call(exportCommand, ['M00009L8', ...at]),
      call(exportCommand, ['Q00001L8', '--json', ...at]),
      call(importCommand, ['M00003L8', ...at]),
      call(jobsCommand, ['42', ...at]),
      call(importCommand, ['1', '--mailslot', ...at]),
    ]);
    expect([drive.code, drive.stderr]).toEqual([1, 'vtl: M00002L8 is in drive 1: unload it first\n']);
    expect([mailslot.code, mailslot.stderr]).toEqual([
      1,
      'vtl: M00009L8 is in mailslot 1: take it out first (vtl mailslot remove M00009L8)\n',
    ]);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toEqual({
      error: {
        code: 'ERR_IMAGE_NOT_FOUND',
        message: 'no cartridge Q00001L8 in library "default"',
        status: 404,
      },
    });
    expect([noExport.code, noExport.stderr]).toEqual([
      1,
      `vtl: no job M00003L8 and no finished export of M00003L8 on ${join(dir, 'cloud')}\n`,
    ]);
    expect([noJob.code, noJob.stderr]).toEqual([1, 'vtl: no job 42 in library "default"\n']);
    expect([full.code, full.stderr]).toEqual([
      1,
      'vtl: every mailslot is full; free one or import to the vault\n',
    ]);
  });

  it('import without --wait queues the job and names how to follow it; jobs -L shows it', async () => {
    const client = new ApiClient({ api: api.url });
    await client.post('/mailslots/remove', { barcode: 'M00009L8' });
    const r = await call(importCommand, ['1', '--replace', ...at]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^job 2: import of M00001L8 (queued|running|completed)/);
    const m = lib.library().migration!.migrator;
    expect((await m.wait('2')).state).toBe('completed');
    const one = await call(jobsCommand, ['-L', '2', ...at]);
    expect(one.stdout.split('\n').slice(0, 2)).toEqual([
      'job 2: import M00001L8 completed',
      `  remote:   ${join(dir, 'cloud')}/${m.job('1')!.remoteDir}`,
    ]);
    // replace: the imported cartridge goes to the vault, the old record left its slot
    expect(lib.inventory!.cartridge('M00001L8')?.location).toEqual({ type: 'vault' });
    const body = await client.post('/import', { job: '1', barcode: 'M00001L8' }).catch((e: unknown) => e);
    expect(body).toBeInstanceOf(ClientError);
    expect((body as ClientError).status).toBe(400);
    expect((body as ClientError).message).toBe(
      'invalid request body: give either "job" or "barcode", not both',
    );
  });

  it('usage errors exit 2; the help text lists the commands', async () => {
    const [none, flag, cancel, extra, help] = await Promise.all([
      call(exportCommand, [...at]),
      call(exportCommand, ['M00001L8', '--mailslot', ...at]),
      call(jobsCommand, ['cancel', 'abc', ...at]),
      call(jobsCommand, ['frobnicate', ...at]),
      vtl(['--help']),
    ]);
    expect([none.code, none.stderr.split('\n')[0]]).toEqual([2, 'vtl: vtl export takes one barcode']);
    expect(flag.stderr.split('\n')[0]).toBe('vtl: --mailslot and --replace go with `vtl import`');
    expect([cancel.code, cancel.stderr.split('\n')[0]]).toEqual([2, 'vtl: vtl jobs cancel takes one job id']);
    expect(extra.stderr.split('\n')[0]).toBe(
      'vtl: unknown subcommand "frobnicate": use a job id, cancel or clear',
    );
    expect(help.stdout).toContain('  export BARCODE [--wait]\n');
    expect(help.stdout).toContain('  import JOB|BARCODE [--mailslot] [--replace] [--wait]\n');
    expect(help.stdout).toContain('  jobs [-L] [ID] | jobs cancel ID | jobs clear\n');
  });
});
