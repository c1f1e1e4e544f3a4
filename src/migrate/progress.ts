/**
 * Text forms of a job for the `vtl jobs` listing (short and -L) and a one-line progress bar for
 * `vtl export`/`vtl import` in the foreground (redraw with '\r').
 */
import type { JobRecord } from './job-store.js';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

function percent(job: JobRecord): number {
  if (job.bytesTotal <= 0) return job.state === 'completed' ? 100 : 0;
  return Math.min(100, Math.floor((job.bytesDone * 100) / job.bytesTotal));
}

/** `[#########...........]  45%  1.2 GiB/2.7 GiB  150.0 MiB/s  export A00001L8` */
export function progressBar(job: JobRecord, width = 30): string {
  const pct = percent(job);
  const fill = Math.round((pct * width) / 100);
  const bar = '#'.repeat(fill) + '.'.repeat(width - fill);
  return (
    `[${bar}] ${String(pct).padStart(3)}%  ${formatBytes(job.bytesDone)}/${formatBytes(job.bytesTotal)}  ` +
    `${formatBytes(job.rate)}/s  ${job.kind} ${job.barcode}`
  );
}

/** One line per job: id, kind, barcode, state, percent, rate. */
export function formatJobShort(job: JobRecord): string {
  return [
    job.id.padStart(4),
    job.kind.padEnd(6),
    job.barcode.padEnd(12),
    job.state.padEnd(9),
    `${percent(job)}%`.padStart(4),
    `${formatBytes(job.rate)}/s`,
  ].join('  ');
}

/** The long form (-L): every field a user acts on, chunk attempts and the last error. */
export function formatJobLong(job: JobRecord): string {
  const lines = [
    `job ${job.id}: ${job.kind} ${job.barcode} ${job.state}`,
    `  remote:   ${job.remote}/${job.remoteDir}`,
    `  created:  ${job.createdAt}${job.startedAt ? `  started: ${job.startedAt}` : ''}${job.finishedAt ? `  finished: ${job.finishedAt}` : ''}`,
    `  progress: ${formatBytes(job.bytesDone)} of ${formatBytes(job.bytesTotal)} (${percent(job)}%), ${formatBytes(job.rate)}/s`,
    `  chunks:   ${job.chunks.filter((c) => c.state === 'verified').length}/${job.chunks.length} verified`,
  ];
  for (const c of job.chunks) {
    if (c.attempts > 1 || c.lastError !== undefined) {
      lines.push(
        `    ${c.name}: ${c.state}, ${c.attempts} attempts${c.lastError ? `, last error: ${c.lastError}` : ''}`,
      );
    }
  }
  if (job.deleted === true) lines.push('  local cartridge deleted after verification');
  if (job.spare !== undefined) lines.push(`  spare created: ${job.spare}`);
  if (job.note !== undefined) lines.push(`  note: ${job.note}`);
  if (job.lastError !== undefined) lines.push(`  error: ${job.lastError}`);
  return lines.join('\n');
}
