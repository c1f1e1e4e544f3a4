/**
 * `vtl export`, `vtl import` and `vtl jobs` (issue 4 'Jobs'): cloud migration through the
 * management API, in QUADStor's impexp shapes (`impexp -l`, `-L`, `-r -j ID`, `--clear`). With
 * --wait a command stays in the foreground and redraws the module's progress bar on stderr from
 * GET /jobs/:id until the job finishes; its exit status is the job's outcome.
 */
import { formatJobLong, formatJobShort, progressBar } from '../../migrate/progress.js';
import type { JobListView, JobResultView, JobsClearedView, JobView } from '../api/types.js';
import type { ApiClient } from '../client.js';
import {
  CONNECTION_HELP,
  clientFor,
  parseCommand,
  printJson,
  processIo,
  runCommand,
  UsageError,
  type CommandIo,
} from './common.js';

export const MIGRATE_USAGE = `usage:
  vtl export BARCODE [--wait]
        Export a cartridge in a slot or the vault to the library's remote (the changer does
        the same when an initiator moves a cartridge into a mailslot).
  vtl import JOB|BARCODE [--mailslot] [--replace] [--wait]
        Import an export back: by export job id, or a barcode's newest export. The cartridge
        goes to the vault, or with --mailslot into a free mailslot; --replace overwrites a
        local cartridge with the same barcode.
  vtl jobs [-L] [ID]
        Migration jobs: one line each, or every detail with -L (chunks, attempts, errors).
  vtl jobs cancel ID
        Stop a queued or running job; its partial remote objects and cache files are removed,
        the local cartridge stays.
  vtl jobs clear
        Remove the records of completed, failed and cancelled jobs.

  --wait          stay until the job finishes, with a progress bar on stderr; exit 1 unless
                  it completed

${CONNECTION_HELP}`;

const FINISHED = new Set(['completed', 'error', 'cancelled']);
const POLL_MS = 250;

/** `vtl export BARCODE [--wait]` */
export function exportCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  return submit(args, io, 'export');
}

/** `vtl import JOB|BARCODE [--mailslot] [--replace] [--wait]` */
export function importCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  return submit(args, io, 'import');
}

async function submit(args: string[], io: CommandIo, kind: 'export' | 'import'): Promise<number> {
  let json = false;
  let outcome = 0;
  const code = await runCommand(
    io,
    MIGRATE_USAGE,
    () => json,
    async () => {
      const { values, positionals } = parseCommand(args, {
        wait: { type: 'boolean' },
        mailslot: { type: 'boolean' },
        replace: { type: 'boolean' },
      });
      json = values.json === true;
      if (values.help) return io.out(MIGRATE_USAGE);
      if (kind === 'export' && (values.mailslot === true || values.replace === true))
        throw new UsageError('--mailslot and --replace go with `vtl import`');
      if (positionals.length !== 1) {
        throw new UsageError(
          kind === 'export' ? 'vtl export takes one barcode' : 'vtl import takes one job id or barcode',
        );
      }
      const client = clientFor(values);
      const key = positionals[0];
      const { job } =
        kind === 'export'
          ? await client.post<JobResultView>('/export', { barcode: key })
          : await client.post<JobResultView>('/import', {
              ...(/^\d+$/.test(key) ? { job: key } : { barcode: key }),
              to: values.mailslot === true ? 'mailslot' : 'vault',
              ...(values.replace === true ? { replace: true } : {}),
            });
      if (values.wait !== true) {
        if (json) return printJson(io, { job });
        io.out(
          `job ${job.id}: ${job.kind} of ${job.barcode} ${job.state}` +
            (FINISHED.has(job.state) ? '' : ` (follow with \`vtl jobs -L ${job.id}\`)`) +
            '\n',
        );
        if (job.note !== undefined) io.out(`note: ${job.note}\n`);
        return;
      }
      const done = await follow(client, job, io);
      if (json) printJson(io, { job: done });
      else io.out(`${formatJobLong(done)}\n`);
      if (done.state !== 'completed') {
        io.err(
          `vtl: ${done.kind} job ${done.id} of ${done.barcode} ${done.state === 'error' ? 'failed' : done.state}` +
            (done.lastError !== undefined ? `: ${done.lastError}` : '') +
            '\n',
        );
        outcome = 1;
      }
    },
  );
  return code !== 0 ? code : outcome;
}

/**
 * Polls the job until it finishes. On a terminal the bar is redrawn in place; otherwise (a log,
 * a pipe) a line is printed whenever the percentage or the state changes.
 */
async function follow(client: ApiClient, first: JobView, io: CommandIo): Promise<JobView> {
  const tty = io === processIo && process.stderr.isTTY;
  let job = first;
  let last = '';
  for (;;) {
    const bar = `${progressBar(job)}  ${job.state}`;
    if (tty) io.err(`\r${bar}\x1b[K`);
    else if (bar !== last) io.err(`${bar}\n`);
    last = bar;
    if (FINISHED.has(job.state)) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
    job = (await client.get<JobResultView>(`/jobs/${job.id}`)).job;
  }
  if (tty) io.err('\n');
  return job;
}

/** `vtl jobs [-L] [ID]`, `vtl jobs cancel ID`, `vtl jobs clear` */
export async function jobsCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  let json = false;
  return runCommand(
    io,
    MIGRATE_USAGE,
    () => json,
    async () => {
      const { values, positionals } = parseCommand(args, { long: { type: 'boolean', short: 'L' } });
      json = values.json === true;
      if (values.help) return io.out(MIGRATE_USAGE);
      const client = clientFor(values);
      const [sub, ...rest] = positionals;
      if (sub === 'cancel') {
        if (rest.length !== 1 || !/^\d+$/.test(rest[0]))
          throw new UsageError('vtl jobs cancel takes one job id');
        const { job } = await client.request<JobResultView>('POST', `/jobs/${rest[0]}/cancel`);
        if (json) return printJson(io, { job });
        return io.out(`job ${job.id}: ${job.kind} of ${job.barcode} ${job.state}\n`);
      }
      if (sub === 'clear') {
        if (rest.length !== 0) throw new UsageError('vtl jobs clear takes no argument');
        const res = await client.request<JobsClearedView>('POST', '/jobs/clear');
        if (json) return printJson(io, res);
        return io.out(`cleared ${res.cleared} finished job${res.cleared === 1 ? '' : 's'}\n`);
      }
      if (sub !== undefined && (!/^\d+$/.test(sub) || rest.length > 0))
        throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: use a job id, cancel or clear`);
      const jobs =
        sub === undefined
          ? (await client.get<JobListView>('/jobs')).jobs
          : [(await client.get<JobResultView>(`/jobs/${sub}`)).job];
      if (json) return printJson(io, sub === undefined ? { jobs } : { job: jobs[0] });
      if (jobs.length === 0) return io.out('no jobs\n');
      if (values.long === true) return io.out(jobs.map((j) => formatJobLong(j)).join('\n\n') + '\n');
      io.out(`${SHORT_HEADER}\n${jobs.map((j) => formatJobShort(j)).join('\n')}\n`);
    },
  );
}

/** Column heads for formatJobShort's fixed widths. */
const SHORT_HEADER = [
  'ID'.padStart(4),
  'KIND'.padEnd(6),
  'BARCODE'.padEnd(12),
  'STATE'.padEnd(9),
  'DONE'.padStart(4),
  'RATE',
].join('  ');
