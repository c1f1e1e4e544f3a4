/**
 * The export manifest `{BARCODE}.manifest.json`, uploaded last: a remote folder without it is
 * an unfinished export. It holds what import needs (file layout, chunk digests, compression and
 * the RSA-wrapped data key) and what a person needs to recover the data without this program
 * (format.ts documents the chunk layout).
 */
import { z } from 'zod';
import { MigrationError } from './remote.js';

export const MANIFEST_FORMAT = 'iscsi-vtl-export';
export const MANIFEST_VERSION = 1;

const hex = (n: number): z.ZodString => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`));

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  formatVersion: z.literal(MANIFEST_VERSION),
  exportId: hex(32),
  barcode: z.string().min(1),
  createdAt: z.string(),
  completedAt: z.string(),
  /** The cartridge's own metadata (cartridge.json), for listing without downloading chunks. */
  cartridge: z.record(z.string(), z.unknown()),
  /** The export stream: these files, end to end, in this order. */
  files: z.array(
    z.object({ name: z.string().min(1), size: z.number().int().min(0), offset: z.number().int().min(0) }),
  ),
  totalBytes: z.number().int().min(0),
  chunkSize: z.number().int().positive(),
  compression: z.object({ algorithm: z.literal('zstd'), level: z.number().int() }).nullable(),
  encryption: z
    .object({
      algorithm: z.literal('AES-256-GCM'),
      keyWrap: z.literal('RSA-OAEP-SHA-256'),
      keyName: z.string(),
      /** sha256 of the RSA public key (DER SubjectPublicKeyInfo). */
      keyFingerprint: hex(64),
      wrappedKey: z.string().min(1),
    })
    .nullable(),
  chunks: z.array(
    z.object({
      index: z.number().int().min(1),
      name: z.string().min(1),
      size: z.number().int().min(0),
      md5: hex(32),
      sha256: hex(64),
      plainOffset: z.number().int().min(0),
      plainLength: z.number().int().min(0),
      plainSha256: hex(64),
    }),
  ),
});

export type Manifest = z.infer<typeof manifestSchema>;

export function manifestName(barcode: string): string {
  return `${barcode}.manifest.json`;
}

export function exportChunkName(barcode: string, index: number): string {
  return `${barcode}.img.${String(index).padStart(6, '0')}`;
}

/** `{BARCODE}-{YYYYMMDD_HHMMSS}` in UTC (QUADStor's folder naming, seed "rclone copy"). */
export function exportDirName(barcode: string, at: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const d = `${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}`;
  const t = `${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
  return `${barcode}-${d}_${t}`;
}

/** Parses and checks a manifest; the error names the remote folder. */
export function parseManifest(text: string, where: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new MigrationError('ERR_FORMAT', `${where}: manifest is not JSON: ${(err as Error).message}`);
  }
  const r = manifestSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new MigrationError('ERR_FORMAT', `${where}: manifest ${i.path.join('.')}: ${i.message}`);
  }
  const m = r.data;
  let offset = 0;
  for (const f of m.files) {
    if (f.offset !== offset)
      throw new MigrationError('ERR_FORMAT', `${where}: manifest file ${f.name} offset is not contiguous`);
    offset += f.size;
  }
  if (offset !== m.totalBytes)
    throw new MigrationError('ERR_FORMAT', `${where}: manifest files do not add up to totalBytes`);
  let plain = 0;
  m.chunks.forEach((c, i) => {
    if (c.index !== i + 1 || c.plainOffset !== plain) {
      throw new MigrationError('ERR_FORMAT', `${where}: manifest chunk ${c.name} is out of sequence`, {
        chunk: c.name,
      });
    }
    plain += c.plainLength;
  });
  if (plain !== m.totalBytes)
    throw new MigrationError('ERR_FORMAT', `${where}: manifest chunks do not cover totalBytes`);
  return m;
}
