/**
 * The sync checkpoint of a partition (`checkpoint.json`, `checkpoint.p<N>.json`), replaced
 * atomically at every sync and every new write epoch: where EOD stood when the data was last
 * made durable, and the partition's current write epoch (recovery.ts says how both are used).
 *
 *   { "formatVersion": 2, "objects": 1001, "chunk": 1, "size": 1052768, "epoch": 3 }
 *
 * Version 1 (before epochs) has no "epoch" and reads as epoch 0.
 */
/** Where the data stood at the last sync (everything before it is durable), and the epoch. */
export interface Checkpoint {
  readonly objects: number;
  readonly chunk: number;
  readonly size: number;
  /** Write epoch of the partition (0 for checkpoints written before epochs existed). */
  readonly epoch: number;
}

export const CHECKPOINT_FORMAT_VERSION = 2;

export function encodeCheckpoint(cp: Checkpoint): Buffer {
  return Buffer.from(JSON.stringify({ formatVersion: CHECKPOINT_FORMAT_VERSION, ...cp }) + '\n');
}

/** Version 2, or version 1 (no epoch: epoch 0); null when unreadable. */
export function parseCheckpoint(buf: Buffer): Checkpoint | null {
  try {
    const v = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
    const ok = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
    if (!ok(v.objects) || !ok(v.chunk) || !ok(v.size)) return null;
    if (v.formatVersion === 1) return { objects: v.objects, chunk: v.chunk, size: v.size, epoch: 0 };
    if (v.formatVersion !== CHECKPOINT_FORMAT_VERSION || !ok(v.epoch)) return null;
    return { objects: v.objects, chunk: v.chunk, size: v.size, epoch: v.epoch };
  } catch {
    return null;
  }
}
