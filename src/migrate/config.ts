/**
 * Migration settings: the `migration` object of the server config (a strict zod schema, so a
 * typo is refused with the key named) and QUADStor's `rclone.conf` key=value file, read into
 * the same shape so a QUADStor user can bring theirs (seed "Setup rclone job parameters").
 */
import { z } from 'zod';
import { VtlError } from '../util/errors.js';

const MiB = 1024 * 1024;

/** Smallest export object: room for the chunk header, the GCM tag and some payload. */
export const MIN_EXPORT_CHUNK = 4096;

/**
 * `10240m`, `10g` or a byte count. QUADStor documents `m` as MB where "1024m equals 1GiB",
 * i.e. MiB; `g` is GiB.
 */
export function parseChunkSize(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+)\s*([mMgG]?)\s*$/.exec(value);
  if (m === null) throw new Error(`expected a size such as "10240m" or "10g", got ${JSON.stringify(value)}`);
  const n = Number(m[1]);
  const unit = m[2].toLowerCase();
  return unit === 'g' ? n * 1024 * MiB : unit === 'm' ? n * MiB : n;
}

/**
 * Splits a flag string (QUADStor's `rcloneflags="--config /root/.config/rclone/rclone.conf"`)
 * into an argv list. Quotes group words; nothing is expanded: this is never passed to a shell.
 */
export function splitFlags(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | null = null;
  let inWord = false;
  for (const ch of text) {
    if (quote !== null) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote !== null) throw new Error(`unterminated ${quote} quote in ${JSON.stringify(text)}`);
  if (inWord) out.push(cur);
  return out;
}

const chunkSize = z
  .union([z.number().int(), z.string()])
  .transform((v, ctx) => {
    try {
      return parseChunkSize(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .number()
      .int()
      .min(MIN_EXPORT_CHUNK, `must be at least ${MIN_EXPORT_CHUNK} bytes`)
      .max(Number.MAX_SAFE_INTEGER),
  );

const argv = z.union([z.string(), z.array(z.string())]).transform((v, ctx) => {
  if (Array.isArray(v)) return v;
  try {
    return splitFlags(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** A plain file name inside the keystore: no directory part, so a config cannot point elsewhere. */
const keyName = z
  .string()
  .min(1)
  .refine((s) => !s.includes('/') && !s.includes('\\') && !s.startsWith('.'), {
    message: 'must be a file name inside keystoreDir (no path separators, not hidden)',
  });

export const migrationConfigSchema = z
  .strictObject({
    /** `gdrive:`, `s3:bucket/path` (rclone), or an absolute directory path (built-in remote). */
    remote: z.string().min(1),
    rcloneFlags: argv.default([]),
    /** Path of the rclone binary; `rclone` from PATH by default. */
    rcloneBinary: z.string().min(1).default('rclone'),
    chunkSize: chunkSize.default(10240 * MiB),
    compress: z.boolean().default(true),
    /** zstd level; 1 is ~2x faster than 3 for ~7 % less ratio on backup data (migrate.md 4.2). */
    compressionLevel: z.number().int().min(-7).max(22).default(1),
    /** File name of an RSA key PEM in `keystoreDir`; unset means no encryption. */
    encryptionKey: keyName.optional(),
    keystoreDir: z.string().min(1).optional(),
    /** Staging directory for chunks in flight; defaults to `<jobDir>/cache`. */
    cacheDir: z.string().min(1).optional(),
    maxThreads: z.number().int().min(1).max(64).default(4),
    maxJobs: z.number().int().min(1).max(64).default(2),
    skipMd5Check: z.boolean().default(false),
    /** Retries after the first attempt of one copy. */
    retryCount: z.number().int().min(0).max(1000).default(3),
    /** Seconds between attempts. */
    retryPause: z.number().min(0).max(86_400).default(10),
    /** rclone exit codes worth another attempt (migrate.md 2.6: 5 is "temporary error"). */
    retryExitCodes: z.array(z.number().int().min(1).max(255)).default([5]),
    deleteAfterExport: z.boolean().default(false),
    deleteAfterImport: z.boolean().default(false),
    createSpare: z.boolean().default(false),
    /** Run with the barcode appended after a cartridge reaches the vault (QUADStor PostVaultCmd). */
    postVaultCmd: argv.optional(),
    /** Seconds before the post-vault command is killed. */
    postVaultTimeout: z.number().positive().max(86_400).default(300),
  })
  .superRefine((c, ctx) => {
    if (c.encryptionKey !== undefined && c.keystoreDir === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['keystoreDir'],
        message: 'is required when encryptionKey is set',
      });
    }
    if (c.postVaultCmd !== undefined && c.postVaultCmd.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['postVaultCmd'], message: 'is empty' });
    }
  });

export type MigrationConfigInput = z.input<typeof migrationConfigSchema>;
export type MigrationConfig = z.output<typeof migrationConfigSchema>;

function describeIssue(issue: z.core.$ZodIssue): { path: string; message: string } {
  if (issue.code === 'unrecognized_keys') {
    return { path: issue.keys.join(', '), message: 'is not a migration setting' };
  }
  return { path: issue.path.map(String).join('.'), message: issue.message };
}

/**
 * Validates a `migration` object. Errors are VtlError ERR_CONFIG naming the source and key,
 * e.g. `server.json: migration.chunkSize: must be at least 4096 bytes`.
 */
export function parseMigrationConfig(input: unknown, source = 'config'): MigrationConfig {
  const r = migrationConfigSchema.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const d = describeIssue(i);
    return `${source}: migration.${d.path}: ${d.message}`;
  });
  throw new VtlError('ERR_CONFIG', lines.join('\n'));
}

/** QUADStor rclone.conf keys → our keys and how their values read. */
const QUADSTOR_KEYS = {
  remotename: { key: 'remote', kind: 'string' },
  rcloneflags: { key: 'rcloneFlags', kind: 'string' },
  chunksize: { key: 'chunkSize', kind: 'string' },
  enckey: { key: 'encryptionKey', kind: 'string' },
  compressdata: { key: 'compress', kind: 'bool' },
  deleteexport: { key: 'deleteAfterExport', kind: 'bool' },
  deleteimport: { key: 'deleteAfterImport', kind: 'bool' },
  createspare: { key: 'createSpare', kind: 'bool' },
  cachedir: { key: 'cacheDir', kind: 'string' },
  skipmd5check: { key: 'skipMd5Check', kind: 'bool' },
} as const satisfies Record<string, { key: keyof MigrationConfigInput; kind: 'string' | 'bool' }>;

type QuadstorKey = keyof typeof QUADSTOR_KEYS;

/**
 * Reads QUADStor's `rclone.conf` (key=value lines, `#` comments, values optionally quoted) into
 * a validated MigrationConfig. `extra` supplies what that file does not hold (keystoreDir,
 * which QUADStor fixes at /quadstorvtl/keystore, thread and retry settings from quadstor.conf).
 * Errors name the file, the line and the key.
 */
export function parseQuadstorRcloneConf(
  text: string,
  file = 'rclone.conf',
  extra: Partial<MigrationConfigInput> = {},
): MigrationConfig {
  const out: Record<string, unknown> = { ...extra };
  const lineOf = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0)
      throw new VtlError('ERR_CONFIG', `${file}:${lineNo}: expected key=value, got ${JSON.stringify(line)}`);
    const name = line.slice(0, eq).trim().toLowerCase();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) {
      value = value.slice(1, -1);
    }
    if (!Object.hasOwn(QUADSTOR_KEYS, name)) {
      const known = Object.keys(QUADSTOR_KEYS).join(', ');
      throw new VtlError('ERR_CONFIG', `${file}:${lineNo}: ${name}: unknown key (known: ${known})`);
    }
    const spec = QUADSTOR_KEYS[name as QuadstorKey];
    if (lineOf.has(spec.key)) {
      throw new VtlError(
        'ERR_CONFIG',
        `${file}:${lineNo}: ${name}: set again (first on line ${lineOf.get(spec.key)})`,
      );
    }
    lineOf.set(spec.key, lineNo);
    if (spec.kind === 'bool') {
      if (value !== '0' && value !== '1') {
        throw new VtlError(
          'ERR_CONFIG',
          `${file}:${lineNo}: ${name}: expected 0 or 1, got ${JSON.stringify(value)}`,
        );
      }
      out[spec.key] = value === '1';
    } else {
      out[spec.key] = value;
    }
  });
  if (out.keystoreDir === undefined && out.encryptionKey !== undefined)
    out.keystoreDir = '/quadstorvtl/keystore';
  const r = migrationConfigSchema.safeParse(out);
  if (r.success) return r.data;
  const reverse = new Map<string, string>(Object.entries(QUADSTOR_KEYS).map(([q, s]) => [s.key, q]));
  const msgs = r.error.issues.map((issue) => {
    const d = describeIssue(issue);
    const top = d.path.split('.')[0];
    const q = reverse.get(top);
    const at = lineOf.get(top);
    if (q !== undefined && at !== undefined) return `${file}:${at}: ${q}: ${d.message}`;
    if (q !== undefined) return `${file}: ${q}: ${issue.code === 'invalid_type' ? 'is required' : d.message}`;
    return `${file}: ${d.path}: ${d.message}`;
  });
  throw new VtlError('ERR_CONFIG', msgs.join('\n'));
}
