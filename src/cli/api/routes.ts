/**
 * The management API's routes as data (issue 3 'Management API', 'Operator actions'): method,
 * path pattern, and a handler from the request's parameters and JSON body to a status and body.
 * Bodies are validated with zod; every refusal throws (see errors.ts).
 */
import { z } from 'zod';
import { VtlError } from '../../util/errors.js';
import { setWriteProtected } from '../../vtl/image/cartridge.js';
import { validateBarcode } from '../../vtl/inventory/barcode.js';
import type { Inventory } from '../../vtl/inventory/inventory.js';
import type { LibraryMigration } from '../../vtl/library-migration.js';
import type { TapeLibrary, VirtualLibrary } from '../../vtl/library.js';
import { ApiError } from './errors.js';
import type {
  CartridgeListView,
  CartridgeResultView,
  DeletedView,
  JobListView,
  JobResultView,
  JobsClearedView,
  LibraryListView,
  StatusView,
  TapeAlertView,
  WriteProtectView,
} from './types.js';
import { cartridgeView, libraryView, locationView, portalsOf, statusView } from './views.js';

export interface RouteContext {
  /** The whole server (portals, every library). */
  server: VirtualLibrary;
  /** The library the request names with `?library=NAME`; the first one without it. */
  library: TapeLibrary;
  params: Record<string, string>;
  /** The parsed JSON body; undefined when the request had none. */
  body: unknown;
}

export interface RouteAnswer {
  status: number;
  body: unknown;
}

export interface Route {
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** Path below /api/v1; ':name' segments become params. */
  path: string;
  /** True when the route reads a JSON body. */
  body: boolean;
  handler(ctx: RouteContext): Promise<RouteAnswer> | RouteAnswer;
}

/** 1-based element numbers on the wire, as `mtx` and the panel count. */
const elementNumber = z.number().int().min(1).max(65535);

const createBody = z
  .object({
    /** Barcodes and ranges 'E01001L8..E01020L8'. */
    barcodes: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(1000)]),
    to: z.enum(['slots', 'vault']).optional(),
  })
  .strict();

const insertBody = z.object({ barcode: z.string(), mailslot: elementNumber.optional() }).strict();

const removeBody = z
  .object({ barcode: z.string().optional(), mailslot: elementNumber.optional() })
  .strict()
  .refine((b) => (b.barcode === undefined) !== (b.mailslot === undefined), {
    message: 'give either "barcode" or "mailslot", not both',
  });

const exportBody = z.object({ barcode: z.string() }).strict();

const writeProtectBody = z.object({ on: z.boolean() }).strict();

/** TapeAlert flags are numbered 1..64 (SSC-4 TapeAlert log page, parameter codes 0001h-0040h). */
const tapeAlertBody = z.object({ flag: z.number().int().min(1).max(64) }).strict();

const importBody = z
  .object({
    /** An export job id of this library... */
    job: z.string().regex(/^\d+$/, 'a job id is a number').optional(),
    /** ...or a barcode: its newest finished export (local records, then the remote listing). */
    barcode: z.string().optional(),
    to: z.enum(['vault', 'mailslot']).optional(),
    replace: z.boolean().optional(),
    /** A remote folder BARCODE-YYYYMMDD_HHMMSS to import instead of the newest. */
    remoteDir: z.string().min(1).optional(),
  })
  .strict()
  .refine((b) => (b.job === undefined) !== (b.barcode === undefined), {
    message: 'give either "job" or "barcode", not both',
  });

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined) throw new VtlError('ERR_INVALID_ARGUMENT', 'this request needs a JSON body');
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => {
    const key = i.path.length ? `${i.path.map(String).join('.')}: ` : '';
    const message =
      i.code === 'unrecognized_keys'
        ? `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`
        : i.message;
    return key + message;
  });
  throw new VtlError('ERR_INVALID_ARGUMENT', `invalid request body: ${issues.join('; ')}`);
}

/** The inventory, or 409 naming what is missing: a library without changer has no slots. */
function inventoryOf(library: TapeLibrary): Inventory {
  if (!library.inventory) {
    throw new VtlError(
      'ERR_STATE',
      'this library has no medium changer (no "changer" section in its config): there are no slots, mailslots or inventory to manage',
    );
  }
  return library.inventory;
}

/** The library's migration, or 409 naming what is missing. */
function migrationOf(library: TapeLibrary): LibraryMigration {
  if (!library.migration) {
    throw new VtlError(
      'ERR_STATE',
      `library "${library.name}" has no cloud migration configured (no "migration" section in its config)`,
    );
  }
  return library.migration;
}

function jobOf(library: TapeLibrary, id: string): JobResultView {
  const job = migrationOf(library).migrator.job(id);
  if (!job) throw new VtlError('ERR_NOT_FOUND', `no job ${id} in library "${library.name}"`);
  return { job };
}

/**
 * Moves a cartridge's write-protect tab (setWriteProtected). A threaded cartridge's metadata
 * belongs to its open image, and a real tab cannot be moved inside a drive: 409 while it is in
 * one. With a changer the check and the write run inside the inventory's exclusive section, so a
 * MOVE MEDIUM into a drive cannot slip in between.
 */
async function writeProtect(library: TapeLibrary, barcode: string, on: boolean): Promise<WriteProtectView> {
  const inv = library.inventory;
  const act = async (): Promise<WriteProtectView> => {
    const rec = inv?.cartridge(barcode);
    if (inv && !rec)
      throw new VtlError('ERR_NOT_FOUND', `no cartridge ${barcode} in library "${library.name}"`);
    const inDrive = library.drives.find((d) => d.drive.cartridgeInDrive?.label === barcode);
    if (inDrive || rec?.location.type === 'drive') {
      const where = rec ? locationView(rec.location, inv).name : `the drive at LUN ${inDrive!.lun}`;
      throw new VtlError(
        'ERR_STATE',
        `cartridge ${barcode} is in ${where}: its write-protect tab cannot be moved while it is loaded; ` +
          (rec ? 'move it to a slot first' : 'a library without a changer keeps it there'),
      );
    }
    const meta = await setWriteProtected(library.backend, barcode, on);
    return {
      cartridge: {
        barcode,
        mediaType: meta.mediaType,
        writeProtected: meta.writeProtected,
        ...(rec ? { location: locationView(rec.location, inv) } : {}),
      },
    };
  };
  return inv ? inv.exclusive(act) : act();
}

/** The drive at LUN `text` of the library, or 400/404 naming the LUNs there are. */
function driveAt(library: TapeLibrary, text: string): TapeLibrary['drives'][number] {
  const luns = library.drives.map((d) => d.lun).join(', ');
  if (!/^\d+$/.test(text))
    throw new VtlError(
      'ERR_INVALID_ARGUMENT',
      `drive LUN ${JSON.stringify(text)} is not a number (drives: ${luns})`,
    );
  const found = library.drives.find((d) => d.lun === Number(text));
  if (!found)
    throw new VtlError(
      'ERR_NOT_FOUND',
      `library "${library.name}" has no drive at LUN ${text} (drives: ${luns})`,
    );
  return found;
}

/** Flag numbers set in a TapeAlert mask (flag 1 in the most significant of 64 bits). */
function flagsOf(mask: bigint): number[] {
  const out: number[] = [];
  for (let f = 1; f <= 64; f++) if (mask & (1n << BigInt(64 - f))) out.push(f);
  return out;
}

/** Operator actions on cartridges and drives that are not inventory moves. */
const DEVICE_ROUTES: readonly Route[] = [
  {
    name: 'write-protect cartridge',
    method: 'POST',
    path: '/cartridges/:barcode/write-protect',
    body: true,
    handler: async ({ library, params, body }) => {
      const barcode = validateBarcode(params.barcode);
      const req = parseBody(writeProtectBody, body);
      return { status: 200, body: await writeProtect(library, barcode, req.on) };
    },
  },
  {
    name: 'inject TapeAlert flag',
    method: 'POST',
    path: '/drives/:lun/tapealert',
    body: true,
    handler: ({ library, params, body }) => {
      const d = driveAt(library, params.lun);
      const req = parseBody(tapeAlertBody, body);
      // Raised as an event: LOG SENSE 2Eh shows it once, then the read clears it (SSC-4).
      d.drive.injectTapeAlert(req.flag);
      return {
        status: 200,
        body: {
          drive: { lun: d.lun, serial: d.serial },
          flag: req.flag,
          flags: flagsOf(d.drive.tapeAlertMask()),
        } satisfies TapeAlertView,
      };
    },
  },
];

/** Cloud migration (issue 4): export, import, and the job records. */
const MIGRATION_ROUTES: readonly Route[] = [
  {
    name: 'export cartridge',
    method: 'POST',
    path: '/export',
    body: true,
    handler: async ({ library, body }) => {
      const m = migrationOf(library);
      const req = parseBody(exportBody, body);
      const job = await m.exportCartridge(validateBarcode(req.barcode));
      return { status: 202, body: { job } satisfies JobResultView };
    },
  },
  {
    name: 'import cartridge',
    method: 'POST',
    path: '/import',
    body: true,
    handler: async ({ library, body }) => {
      const m = migrationOf(library);
      const req = parseBody(importBody, body);
      const key = req.job ?? validateBarcode(req.barcode);
      const job = await m.importCartridge(key, {
        target: req.to ?? 'vault',
        replace: req.replace === true,
        ...(req.remoteDir !== undefined ? { remoteDir: req.remoteDir } : {}),
      });
      return { status: 202, body: { job } satisfies JobResultView };
    },
  },
  {
    name: 'list jobs',
    method: 'GET',
    path: '/jobs',
    body: false,
    handler: ({ library }) => ({
      status: 200,
      body: { jobs: migrationOf(library).migrator.jobs() } satisfies JobListView,
    }),
  },
  {
    name: 'show job',
    method: 'GET',
    path: '/jobs/:id',
    body: false,
    handler: ({ library, params }) => ({ status: 200, body: jobOf(library, params.id) }),
  },
  {
    name: 'cancel job',
    method: 'POST',
    path: '/jobs/:id/cancel',
    body: false,
    handler: async ({ library, params }) => {
      jobOf(library, params.id);
      const job = await migrationOf(library).migrator.cancel(params.id);
      return { status: 200, body: { job } satisfies JobResultView };
    },
  },
  {
    name: 'clear jobs',
    method: 'POST',
    path: '/jobs/clear',
    body: false,
    handler: async ({ library }) => {
      const cleared = await migrationOf(library).migrator.clear();
      return { status: 200, body: { cleared } satisfies JobsClearedView };
    },
  },
];

export const ROUTES: readonly Route[] = [
  {
    name: 'status',
    method: 'GET',
    path: '/status',
    body: false,
    handler: ({ server, library }) => ({
      status: 200,
      body: statusView(server, library) satisfies StatusView,
    }),
  },
  {
    name: 'list libraries',
    method: 'GET',
    path: '/libraries',
    body: false,
    handler: ({ server }) => ({
      status: 200,
      body: {
        portals: portalsOf(server),
        libraries: server.libraries.map(libraryView),
      } satisfies LibraryListView,
    }),
  },
  {
    name: 'list cartridges',
    method: 'GET',
    path: '/cartridges',
    body: false,
    handler: ({ library }) => {
      const inv = inventoryOf(library);
      return {
        status: 200,
        body: { cartridges: inv.list().map((r) => cartridgeView(r, inv)) } satisfies CartridgeListView,
      };
    },
  },
  {
    name: 'create cartridges',
    method: 'POST',
    path: '/cartridges',
    body: true,
    handler: async ({ library, body }) => {
      const inv = inventoryOf(library);
      const req = parseBody(createBody, body);
      const created = await inv.createCartridges(req.barcodes, { to: req.to ?? 'slots' });
      return {
        status: 201,
        body: { cartridges: created.map((r) => cartridgeView(r, inv)) } satisfies CartridgeListView,
      };
    },
  },
  {
    name: 'delete cartridge',
    method: 'DELETE',
    path: '/cartridges/:barcode',
    body: false,
    handler: async ({ library, params }) => {
      const inv = inventoryOf(library);
      const barcode = validateBarcode(params.barcode);
      const from = inv.cartridge(barcode)?.location;
      await inv.deleteCartridge(barcode);
      return {
        status: 200,
        body: { deleted: { barcode, from: locationView(from!, inv) } } satisfies DeletedView,
      };
    },
  },
  {
    name: 'insert into mailslot',
    method: 'POST',
    path: '/mailslots/insert',
    body: true,
    handler: async ({ library, body }) => {
      const inv = inventoryOf(library);
      const req = parseBody(insertBody, body);
      const rec = await inv.insertIntoMailslot(
        validateBarcode(req.barcode),
        req.mailslot !== undefined ? { mailslot: req.mailslot - 1 } : {},
      );
      return { status: 200, body: { cartridge: cartridgeView(rec, inv) } satisfies CartridgeResultView };
    },
  },
  {
    name: 'remove from mailslot',
    method: 'POST',
    path: '/mailslots/remove',
    body: true,
    handler: async ({ library, body }) => {
      const inv = inventoryOf(library);
      const req = parseBody(removeBody, body);
      const rec = await inv.removeFromMailslot(
        req.barcode !== undefined ? validateBarcode(req.barcode) : { mailslot: req.mailslot! - 1 },
      );
      return { status: 200, body: { cartridge: cartridgeView(rec, inv) } satisfies CartridgeResultView };
    },
  },
  ...DEVICE_ROUTES,
  ...MIGRATION_ROUTES,
];

/** Finds the route for a path below the prefix; 404 for no path, 405 for a path without the method. */
export function matchRoute(method: string, path: string): { route: Route; params: Record<string, string> } {
  const segments = path.split('/').filter(Boolean);
  const allowed: string[] = [];
  for (const route of ROUTES) {
    const params = matchPath(route.path, segments);
    if (!params) continue;
    if (route.method === method) return { route, params };
    allowed.push(route.method);
  }
  if (allowed.length > 0) {
    throw new ApiError(
      405,
      'ERR_METHOD_NOT_ALLOWED',
      `${method} is not allowed here; use ${allowed.join(', ')}`,
      {
        allow: allowed.join(', '),
      },
    );
  }
  throw new ApiError(404, 'ERR_NOT_FOUND', `no such API route: ${method} ${path}`);
}

function matchPath(pattern: string, segments: string[]): Record<string, string> | null {
  const parts = pattern.split('/').filter(Boolean);
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    if (part.startsWith(':')) {
      try {
        params[part.slice(1)] = decodeURIComponent(segments[i]);
      } catch {
        return null;
      }
    } else if (part !== segments[i]) return null;
  }
  return params;
}
