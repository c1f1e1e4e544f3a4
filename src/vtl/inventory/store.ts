/**
 * Where the inventory is persisted: `inventory.json`, replaced atomically on every change
 * (write a temporary file, fsync it, rename it over the old one, fsync the directory), so a
 * crash at any instant leaves either the old or the new inventory, whole. A memory store serves
 * tests and embedders that keep nothing.
 */
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { VtlError } from '../../util/errors.js';
import { MEDIA_TYPES } from '../image/cartridge.js';
import type { MediaType } from '../image/types.js';
import type { ElementRef, ElementType } from './elements.js';
import type { CartridgeRecord, Location } from './types.js';

export const INVENTORY_FORMAT_VERSION = 1;

/** The persisted inventory. */
export interface InventoryState {
  readonly formatVersion: typeof INVENTORY_FORMAT_VERSION;
  /** Incremented on every save: tells which of two copies is newer. */
  readonly generation: number;
  readonly cartridges: readonly CartridgeRecord[];
}

export interface InventoryStore {
  /** The last saved state, or null when nothing was ever saved. */
  load(): Promise<InventoryState | null>;
  /** Replaces the saved state durably and atomically before resolving. */
  save(state: InventoryState): Promise<void>;
  /** Where it is kept, for messages. */
  readonly where: string;
}

export function encodeInventory(state: InventoryState): Buffer {
  return Buffer.from(JSON.stringify(state, null, 1) + '\n');
}

const ELEMENT_TYPES: readonly ElementType[] = ['transport', 'slot', 'mailslot', 'drive'];

/** Parses and checks an inventory file field by field; ERR_CONFIG names the file and the field. */
export function decodeInventory(text: string, where: string): InventoryState {
  const fail = (what: string): never => {
    throw new VtlError('ERR_CONFIG', `${where}: ${what}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail(`not JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) return fail('not an object');
  if (raw.formatVersion !== INVENTORY_FORMAT_VERSION)
    fail(`formatVersion ${JSON.stringify(raw.formatVersion)} is not ${INVENTORY_FORMAT_VERSION}`);
  if (!Number.isSafeInteger(raw.generation)) fail('generation is not an integer');
  if (!Array.isArray(raw.cartridges)) return fail('cartridges is not a list');
  const cartridges = raw.cartridges.map((c: unknown, i: number): CartridgeRecord => {
    const at = `cartridges[${i}]`;
    if (!isObject(c)) return fail(`${at} is not an object`);
    if (typeof c.barcode !== 'string') fail(`${at}.barcode is not a string`);
    if (!(MEDIA_TYPES as unknown[]).includes(c.mediaType)) fail(`${at}.mediaType is unknown`);
    const location = decodeLocation(c.location, `${at}.location`, fail);
    const home = c.home === undefined ? undefined : decodeRef(c.home, `${at}.home`, fail);
    const uses = c.cleaningUsesLeft;
    if (uses !== undefined && !(Number.isSafeInteger(uses) && (uses as number) >= 0))
      fail(`${at}.cleaningUsesLeft is not a count`);
    return {
      barcode: c.barcode as string,
      mediaType: c.mediaType as MediaType,
      location,
      ...(home ? { home } : {}),
      ...(uses !== undefined ? { cleaningUsesLeft: uses as number } : {}),
      ...(c.imported === true ? { imported: true } : {}),
    };
  });
  return { formatVersion: INVENTORY_FORMAT_VERSION, generation: raw.generation as number, cartridges };
}

function decodeLocation(v: unknown, at: string, fail: (what: string) => never): Location {
  if (isObject(v) && v.type === 'vault') return { type: 'vault' };
  return decodeRef(v, at, fail);
}

function decodeRef(v: unknown, at: string, fail: (what: string) => never): ElementRef {
  if (!isObject(v) || !(ELEMENT_TYPES as unknown[]).includes(v.type)) return fail(`${at}.type is unknown`);
  if (!Number.isSafeInteger(v.index) || (v.index as number) < 0) fail(`${at}.index is not an index`);
  return { type: v.type as ElementType, index: v.index as number };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keeps the state in memory (as the encoded bytes, so tests see exactly what a file would hold). */
export class MemoryInventoryStore implements InventoryStore {
  readonly where = 'memory';
  /** The saved bytes, or null before the first save. */
  saved: Buffer | null = null;

  load(): Promise<InventoryState | null> {
    return Promise.resolve(this.saved ? decodeInventory(this.saved.toString(), this.where) : null);
  }

  save(state: InventoryState): Promise<void> {
    this.saved = encodeInventory(state);
    return Promise.resolve();
  }
}

const TMP_MARK = '.tmp-';

/** inventory.json in a directory that must exist. */
export class FileInventoryStore implements InventoryStore {
  constructor(readonly path: string) {}

  get where(): string {
    return this.path;
  }

  async load(): Promise<InventoryState | null> {
    // A temporary file is what a crash before the rename leaves: the rename never happened, so
    // the old inventory.json is the truth and the leftover goes.
    const dir = dirname(this.path);
    const prefix = basename(this.path) + TMP_MARK;
    for (const name of await readdir(dir)) {
      if (name.startsWith(prefix)) await unlink(join(dir, name)).catch(() => undefined);
    }
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return decodeInventory(text, this.path);
  }

  async save(state: InventoryState): Promise<void> {
    const tmp = `${this.path}${TMP_MARK}${process.pid}`;
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(encodeInventory(state));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    // The rename is durable only once the directory entry is (POSIX: fsync the directory).
    const dh = await open(dirname(this.path), 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }
}

export function createMemoryInventoryStore(): MemoryInventoryStore {
  return new MemoryInventoryStore();
}

/** inventory.json at `path`; its directory must exist. */
export function createFileInventoryStore(path: string): FileInventoryStore {
  return new FileInventoryStore(path);
}
