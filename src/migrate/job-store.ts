/**
 * Persistent job records: one JSON file (`jobs.json`) in the job directory, replaced atomically
 * (write a temporary file, fsync, rename, fsync the directory) after every change that matters
 * for a restart (a chunk verified, a state change). QUADStor keeps jobs in daemon memory; we
 * keep them on disk so a restart resumes from the last verified chunk (exports: uploaded and
 * checked on the remote; imports: downloaded, checked and written to the temporary cartridge).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { VtlError } from '../util/errors.js';

export type JobState = 'queued' | 'running' | 'completed' | 'error' | 'cancelled';
export type JobKind = 'export' | 'import';

export interface ChunkRecord {
  index: number;
  name: string;
  plainOffset: number;
  plainLength: number;
  state: 'pending' | 'verified';
  attempts: number;
  size?: number;
  md5?: string;
  sha256?: string;
  plainSha256?: string;
  lastError?: string;
}

export interface FileEntry {
  name: string;
  size: number;
  offset: number;
}

export interface JobRecord {
  id: string;
  kind: JobKind;
  barcode: string;
  state: JobState;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Remote folder `{BARCODE}-{YYYYMMDD_HHMMSS}` relative to the remote root. */
  remoteDir: string;
  remote: string;
  bytesDone: number;
  bytesTotal: number;
  /** Bytes per second over the current run. */
  rate: number;
  chunks: ChunkRecord[];
  lastError?: string;
  /**
   * Export: the settings the export started with (a config change does not alter a running job).
   * `exportId` also on an import: the export its chunk progress belongs to (resume).
   */
  exportId?: string;
  chunkSize?: number;
  compressionLevel?: number | null;
  encryption?: { keyName: string; keyFingerprint: string; wrappedKey: string } | null;
  files?: FileEntry[];
  /** Export: every chunk and the manifest are on the remote, verified; never purged from then on. */
  verified?: boolean;
  /** Export: the local cartridge was deleted after verification (deleteAfterExport). */
  deleted?: boolean;
  /** Export: barcode of the spare created (createSpare). */
  spare?: string;
  /** Import: where to place the cartridge and whether it may replace a local one. */
  importOptions?: { target: 'vault' | 'mailslot'; replace: boolean };
  /** Import: the export job it came from, when known locally. */
  sourceJobId?: string;
  /** Import: what the cartridge looked like when placed (to spot an unchanged re-eject). */
  fingerprint?: string;
  note?: string;
}

interface StoreFile {
  version: 1;
  nextId: number;
  jobs: JobRecord[];
}

export const FINISHED: ReadonlySet<JobState> = new Set(['completed', 'error', 'cancelled']);

export class JobStore {
  private data: StoreFile = { version: 1, nextId: 1, jobs: [] };
  private writing: Promise<void> = Promise.resolve();
  private readonly path: string;

  constructor(private readonly dir: string) {
    this.path = join(dir, 'jobs.json');
  }

  async load(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    let text: string;
    try {
      text = await fsp.readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let parsed: StoreFile;
    try {
      parsed = JSON.parse(text) as StoreFile;
    } catch (err) {
      throw new VtlError('ERR_CONFIG', `${this.path}: not valid JSON: ${(err as Error).message}`);
    }
    if (parsed.version !== 1 || !Array.isArray(parsed.jobs) || typeof parsed.nextId !== 'number') {
      throw new VtlError('ERR_CONFIG', `${this.path}: not a job store of version 1`);
    }
    this.data = parsed;
  }

  list(): JobRecord[] {
    return this.data.jobs;
  }

  get(id: string): JobRecord | undefined {
    return this.data.jobs.find((j) => j.id === id);
  }

  add(job: Omit<JobRecord, 'id'>): JobRecord {
    const rec: JobRecord = { id: String(this.data.nextId++), ...job };
    this.data.jobs.push(rec);
    return rec;
  }

  /** Drops finished records; returns how many. */
  clearFinished(): number {
    const before = this.data.jobs.length;
    this.data.jobs = this.data.jobs.filter((j) => !FINISHED.has(j.state));
    return before - this.data.jobs.length;
  }

  /** Writes the current records atomically; writes are serialised, the last one wins. */
  save(): Promise<void> {
    const snapshot = JSON.stringify(this.data, null, 1);
    const next = this.writing.then(() => this.write(snapshot));
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async write(text: string): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.path);
    const dh = await fsp.open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }
}
