/**
 * Library configuration: one schema (zod) shared by the embedding API and the server's JSON
 * config file, so a typo is reported the same way everywhere — with the key path, and the file
 * when there is one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { migrationConfigSchema, type MigrationConfig, type MigrationConfigInput } from '../migrate/config.js';
import { VtlError } from '../util/errors.js';
import { BARCODE_PATTERN, expandBarcodes } from './inventory/barcode.js';

/** Sizes as in QUADStor's configs: a number of bytes, or '10240m' / '1g' / '512k'. */
const size = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+\s*[kKmMgGtT]?$/, 'a size is a number of bytes or a number with k, m, g or t (e.g. "1g")')
    .transform(parseSize),
]);

export function parseSize(text: string): number {
  const m = /^(\d+)\s*([kKmMgGtT]?)$/.exec(text.trim());
  if (!m) throw new VtlError('ERR_CONFIG', `not a size: ${JSON.stringify(text)}`);
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2].toLowerCase()]!;
  return Number(m[1]) * unit;
}

const portal = z
  .string()
  .regex(
    /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/,
    'a portal is HOST:PORT, e.g. "127.0.0.1:3260" or "[::1]:3260"',
  )
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be 0-65535');

/** RFC 7143 4.2.7: iqn.yyyy-mm.reversed.domain[:unique], eui.<16 hex>, naa.<16 or 32 hex>. */
const iscsiName = z
  .string()
  .max(223)
  .regex(
    /^(iqn\.\d{4}-\d{2}\.[a-z0-9][a-z0-9.-]*(:[^\s,]*)?|eui\.[0-9A-Fa-f]{16}|naa\.([0-9A-Fa-f]{16}|[0-9A-Fa-f]{32}))$/,
    'an iSCSI name looks like iqn.2026-11.org.example:vtl (RFC 7143 4.2.7)',
  );

/** LTO cartridge label: six characters then the media identifier (L5-L9, M8, WORM LV-LZ). */
export const barcode = z
  .string()
  .regex(
    BARCODE_PATTERN,
    'a barcode is six characters A-Z/0-9 and an LTO media id: L5-L9, or LV-LZ for WORM (e.g. "E01001L8")',
  );

const chapAccount = z
  .object({ user: z.string().min(1).max(255), secret: z.string().min(12).max(255) })
  .strict();

export const driveSchema = z
  .object({
    /** Drive personality, e.g. 'IBM ULT3580-TD8' (see src/vtl/ssc/models.ts). */
    model: z.string().default('IBM ULT3580-TD8'),
    /** Unit serial number (VPD 80h), 10 characters; generated from the target name and LUN when absent. */
    serial: z
      .string()
      .regex(/^[A-Za-z0-9]{1,10}$/, 'a drive serial is 1-10 letters or digits')
      .optional(),
    /** A cartridge to have loaded at start; created blank when it does not exist. */
    load: barcode.optional(),
    /** LTO-9 and later: milliseconds the first load of a new cartridge optimizes it (02/04/01). */
    mediaOptimizationMs: z.number().int().min(0).max(7_200_000).optional(),
    /** TapeAlert CLEAN NOW after this many hours with a cartridge threaded (0: never). */
    cleaningIntervalHours: z.number().min(0).optional(),
    /** ... or after this many bytes moved since the last cleaning: a number or "500g" (0: never). */
    cleaningIntervalBytes: z.union([z.literal(0), size]).optional(),
    /** Full passes a cartridge is rated for (NEARING MEDIA LIFE at 90 %, MEDIA LIFE at 100 %). */
    mediaLifePasses: z.number().int().min(0).optional(),
    /** Loads a cartridge is rated for. */
    mediaLifeLoads: z.number().int().min(0).optional(),
  })
  .strict();

/** The medium changer at LUN 0 (SMC) and the library it runs: slots, mailslots, cartridges. */
export const changerSchema = z
  .object({
    /** Changer personality, e.g. 'IBM 03584L32' (see src/vtl/smc/models.ts). */
    model: z.string().default('IBM 03584L32'),
    /** Unit serial number (VPD 80h), 1-16 characters; generated from the target name when absent. */
    serial: z
      .string()
      .regex(/^[A-Za-z0-9]{1,16}$/, 'a changer serial is 1-16 letters or digits')
      .optional(),
    slots: z.number().int().min(1).max(4000).default(24),
    mailslots: z.number().int().min(0).max(256).default(4),
    /** Cartridges created in free slots on first start: barcodes or ranges 'E01001L8..E01020L8'. */
    cartridges: z
      .array(z.string())
      .default([])
      .superRefine((specs, ctx) => {
        try {
          expandBarcodes(specs);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      }),
    /** Cleanings a new CLN cartridge is good for. */
    cleaningUses: z.number().int().min(1).max(1000).default(50),
  })
  .strict();

export const iscsiSchema = z
  .object({
    maxRecvDataSegmentLength: z.number().int().min(512).max(16777215).default(262144),
    maxBurstLength: z.number().int().min(512).max(16777215).default(16776192),
    firstBurstLength: z.number().int().min(512).max(16777215).default(262144),
    maxOutstandingR2T: z.number().int().min(1).max(65535).default(4),
    initialR2T: z.boolean().default(false),
    immediateData: z.boolean().default(true),
    /** Seconds between NOP-In pings on an idle connection; 0 turns them off. */
    nopInterval: z.number().min(0).max(3600).default(5),
    /** Seconds to wait for the NOP-Out answer before dropping the connection. */
    nopTimeout: z.number().min(1).max(3600).default(15),
    /** TCP connections served at once; more are closed on accept. */
    maxConnections: z.number().int().min(1).max(65535).default(64),
    /** CmdSN window: commands an initiator may have outstanding per session. */
    commandWindow: z.number().int().min(1).max(1024).default(32),
  })
  .strict();

/** True for addresses that only this machine can reach (the API then needs no token). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The management API `vtl serve` runs next to the library (src/cli/api): loopback only by
 * default; bound anywhere else it refuses to start without a bearer token (issue 3 'Management
 * API'). Port 3270 sits next to iSCSI's 3260; 0 picks a free port.
 */
export const managementSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(3270),
    /** Bearer token every request must carry (`Authorization: Bearer <token>`). */
    token: z.string().min(16, 'a management token is at least 16 characters').max(512).optional(),
  })
  .strict()
  .refine((m) => m.token !== undefined || isLoopbackHost(m.host), {
    message: 'a management API bound to a non-loopback address needs a token',
    path: ['token'],
  });

const authSchema = z
  .object({
    chap: chapAccount.optional(),
    mutualChap: chapAccount.optional(),
    allowedInitiators: z.array(iscsiName).optional(),
  })
  .strict()
  .refine((a) => !a.mutualChap || a.chap, { message: 'mutualChap needs chap', path: ['mutualChap'] });

/** Target names of libraries in the `libraries` form default to this prefix and their name. */
export const DEFAULT_TARGET_PREFIX = 'iqn.2026-11.org.iscsi-vtl';

/**
 * The embedded default library (issue 3): an IBM 03584 changer with 24 slots holding
 * E01001L8..E01020L8 and the cleaning cartridge CLN001L1, 4 mailslots, and two empty LTO-8
 * drives. A config that names neither `drives` nor `changer` gets exactly this.
 */
export const DEFAULT_LIBRARY = {
  drives: [{ model: 'IBM ULT3580-TD8' }, { model: 'IBM ULT3580-TD8' }],
  changer: { slots: 24, mailslots: 4, cartridges: ['E01001L8..E01020L8', 'CLN001L1'] },
} as const;

/**
 * A library's `migration` section (issue 4): the migration module's settings (validated by its
 * own schema, so a typo names the key), or `quadstorConf`, the path of a QUADStor `rclone.conf`
 * key=value file read when the library opens, with JSON keys beside it filling in what that
 * file does not hold. `jobDir` (job records and the default cache) defaults to
 * `<dataDir>/migrate`. The output is valid input again: a parsed config can be parsed twice.
 */
export type MigrationSectionInput = { jobDir?: string } & (
  MigrationConfigInput | (Partial<MigrationConfigInput> & { quadstorConf: string })
);
export type MigrationSection = { jobDir?: string } & (
  (MigrationConfig & { quadstorConf?: never }) | (Partial<MigrationConfigInput> & { quadstorConf: string })
);

const migrationSection = z
  .custom<MigrationSectionInput>(
    (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
    'must be an object: {"remote": "gdrive:vtl", ...} or {"quadstorConf": "/path/rclone.conf"}',
  )
  .transform((input, ctx): MigrationSection => {
    const { jobDir, quadstorConf, ...rest } = input as Record<string, unknown>;
    const paths: Record<string, unknown> = { jobDir, quadstorConf };
    for (const [key, value] of Object.entries(paths)) {
      if (value !== undefined && (typeof value !== 'string' || value === '')) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'must be a non-empty path' });
      }
    }
    // With quadstorConf the file supplies the remote; the keys beside it are checked as overrides.
    const probe = quadstorConf === undefined ? rest : { remote: 'quadstor:', ...rest };
    const r = migrationConfigSchema.safeParse(probe);
    if (!r.success) {
      for (const issue of r.error.issues) {
        ctx.addIssue({
          code: 'custom',
          path: issue.path,
          message:
            issue.code === 'unrecognized_keys'
              ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`
              : issue.message,
        });
      }
      return z.NEVER;
    }
    const dir = typeof jobDir === 'string' ? { jobDir } : {};
    if (typeof quadstorConf === 'string') {
      return { ...(rest as Partial<MigrationConfigInput>), quadstorConf, ...dir };
    }
    return { ...r.data, ...dir };
  });

const driveList = z.array(driveSchema).max(255);

/**
 * One library: an iSCSI target whose LUN 0 is the medium changer (when there is one) and whose
 * LUNs 1..N are the drives. Without a changer the drives are standalone (each may `load` a
 * cartridge at start); with one, the changer loads them.
 */
export const librarySchema = z
  .object({
    /** Names the library in the API and `vtl --library`; its data lives in dataDir/<name>. */
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a library name is 1-32 of a-z, 0-9, - and _ (e.g. "lib1")'),
    targetName: iscsiName.optional(),
    alias: z.string().max(255).optional(),
    /** Where this library's cartridges and inventory live; default dataDir/<name>. */
    dataDir: z.string().min(1).optional(),
    drives: driveList.default([]),
    changer: changerSchema.optional(),
    auth: authSchema.default({}),
    /** Cloud migration (src/migrate); needs a changer: its mailslots trigger exports. */
    migration: migrationSection.optional(),
  })
  .strict()
  .superRefine((lib, ctx) => {
    if (lib.migration && !lib.changer) {
      ctx.addIssue({
        code: 'custom',
        path: ['migration'],
        message:
          'needs a "changer": exports start from its mailslots and imports land in its vault or mailslots',
      });
    }
    if (!lib.changer) return;
    lib.drives.forEach((d, i) => {
      if (d.load !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['drives', i, 'load'],
          message: 'with a changer the changer loads the drives: list the cartridge in changer.cartridges',
        });
      }
    });
  });

/** Keys of one library that the single-library form takes at the top level. */
const SINGLE_LIBRARY_KEYS = ['targetName', 'alias', 'drives', 'changer', 'auth', 'migration'] as const;

/**
 * Two shapes, one meaning: the top-level `targetName`/`drives`/`changer`/`auth` describe one
 * library (data directly in dataDir, as every config before `libraries` existed), or a
 * `libraries` array describes several, each its own target. Either becomes `libraries`.
 */
function normalizeLibraries(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const raw = input as Record<string, unknown>;
  if ('libraries' in raw) {
    const clash = SINGLE_LIBRARY_KEYS.filter((k) => k in raw);
    if (clash.length === 0) return raw;
    // left for the schema to report, naming the keys
    return { ...raw, __clash: clash };
  }
  const single: Record<string, unknown> = { name: 'default' };
  for (const k of SINGLE_LIBRARY_KEYS) if (k in raw) single[k] = raw[k];
  if (!('drives' in raw) && !('changer' in raw)) Object.assign(single, structuredClone(DEFAULT_LIBRARY));
  const rest = Object.fromEntries(
    Object.entries(raw).filter(([k]) => !(SINGLE_LIBRARY_KEYS as readonly string[]).includes(k)),
  );
  return { ...rest, libraries: [single], __single: true };
}

const configObject = z
  .object({
    dataDir: z.string().min(1).default('./vtl-data'),
    backend: z.enum(['file', 'memory']).default('file'),
    portals: z.array(portal).min(1).default(['127.0.0.1:3260']),
    transport: z.enum(['native', 'net']).default('native'),
    /** One or more libraries, each its own iSCSI target with its own inventory. */
    libraries: z.array(librarySchema).min(1).max(64),
    /** Largest chunk file of a cartridge image. */
    chunkSize: size.default(2 ** 30),
    iscsi: iscsiSchema.default(iscsiSchema.parse({})),
    management: managementSchema.default(() => managementSchema.parse({})),
    log: z
      .object({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') })
      .strict()
      .default({ level: 'info' }),
    __single: z.literal(true).optional(),
    __clash: z.array(z.string()).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.__clash) {
      ctx.addIssue({
        code: 'custom',
        path: [c.__clash[0]],
        message: `with "libraries" every library's ${c.__clash.map((k) => JSON.stringify(k)).join(', ')} goes inside its entry`,
      });
    }
    const names = new Set<string>();
    const targets = new Set<string>();
    c.libraries.forEach((lib, i) => {
      if (names.has(lib.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['libraries', i, 'name'],
          message: `library name "${lib.name}" is used twice`,
        });
      }
      names.add(lib.name);
      const target = lib.targetName ?? `${DEFAULT_TARGET_PREFIX}:${lib.name}`;
      if (targets.has(target)) {
        ctx.addIssue({
          code: 'custom',
          path: ['libraries', i, 'targetName'],
          message: `target name ${target} is used twice`,
        });
      }
      targets.add(target);
    });
  })
  .transform(({ __single, __clash: _clash, ...c }) => ({
    ...c,
    libraries: c.libraries.map((lib) => ({
      ...lib,
      targetName:
        lib.targetName ??
        (__single ? `${DEFAULT_TARGET_PREFIX}:vtl` : `${DEFAULT_TARGET_PREFIX}:${lib.name}`),
      dataDir: lib.dataDir ?? (__single ? c.dataDir : join(c.dataDir, lib.name)),
    })),
  }));

export const libraryConfigSchema = z.preprocess(normalizeLibraries, configObject);

export type LibraryInput = z.input<typeof librarySchema>;
type CommonInput = Omit<z.input<typeof configObject>, 'libraries' | '__single' | '__clash'>;
/** One library at the top level (data directly in dataDir)... */
type SingleLibraryInput = Omit<LibraryInput, 'name' | 'dataDir'> & { libraries?: never };
/** ...or several, each its own target. */
interface ManyLibrariesInput {
  libraries: LibraryInput[];
  targetName?: never;
  alias?: never;
  drives?: never;
  changer?: never;
  auth?: never;
  migration?: never;
}
/** What an embedder or a config file gives: every key optional, defaults filled in. */
export type LibraryConfigInput = CommonInput & (SingleLibraryInput | ManyLibrariesInput);
export type LibraryConfig = z.output<typeof libraryConfigSchema>;
export type LibrarySpec = LibraryConfig['libraries'][number];
export type DriveConfig = z.output<typeof driveSchema>;
export type ChangerConfig = z.output<typeof changerSchema>;
export type ManagementConfig = z.output<typeof managementSchema>;

/** Validates a configuration object; errors name every wrong key (and the file when given). */
export function parseLibraryConfig(input: unknown, source?: string): LibraryConfig {
  const result = libraryConfigSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const where = source ? `${source}: ` : '';
  // the single-library form's keys were moved into libraries[0]: name them as the user wrote them
  const single = !(input !== null && typeof input === 'object' && 'libraries' in input);
  const lines = result.error.issues.map((issue) => {
    const path =
      single && issue.path[0] === 'libraries' && issue.path[1] === 0 ? issue.path.slice(2) : issue.path;
    const key = path.length ? path.map(String).join('.') : '(top level)';
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`
        : issue.message;
    return `${where}${key}: ${message}`;
  });
  throw new VtlError('ERR_CONFIG', `invalid configuration\n  ${lines.join('\n  ')}`);
}

/** Reads and validates a JSON config file. */
export async function loadLibraryConfig(
  file: string,
  overrides: Partial<LibraryConfigInput> = {},
): Promise<LibraryConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new VtlError('ERR_CONFIG', `${file}: cannot read the config file (${(err as Error).message})`, {
      cause: err,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new VtlError('ERR_CONFIG', `${file}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new VtlError('ERR_CONFIG', `${file}: the top level must be a JSON object`);
  }
  return parseLibraryConfig({ ...json, ...overrides }, file);
}
