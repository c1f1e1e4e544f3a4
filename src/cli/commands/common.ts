/**
 * What every API command shares: the connection options (--api/VTL_API, --token/VTL_TOKEN),
 * --json, plain-text tables, and one place where failures become a message and an exit code
 * (0 done, 1 refused or unreachable, 2 wrong usage).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiClient, ClientError } from '../client.js';

export const CONNECTION_HELP = `connection options (every command but serve):
  --api URL       the management API of a running \`vtl serve\` (default VTL_API, then
                  http://127.0.0.1:3270)
  --token TOKEN   bearer token when the server requires one (default VTL_TOKEN)
  --library NAME  which library, on a server that runs several (default VTL_LIBRARY, then
                  the first one; \`vtl libraries\` lists them)
  --json          print the API's JSON instead of a table
`;

const COMMON_OPTIONS = {
  api: { type: 'string' },
  token: { type: 'string' },
  library: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: CommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** A command line that does not fit the command: printed with the usage, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface Parsed<V> {
  values: V & { api?: string; token?: string; library?: string; json?: boolean; help?: boolean };
  positionals: string[];
}

export function parseCommand<O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
): Parsed<ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>['values']> {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals } as never;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function clientFor(values: {
  api?: string | undefined;
  token?: string | undefined;
  library?: string | undefined;
}): ApiClient {
  return new ApiClient({ api: values.api, token: values.token, library: values.library });
}

/**
 * Runs a command body; ClientError prints the API's message (and, with --json, its error body on
 * stdout for scripts), UsageError the usage text.
 */
export async function runCommand(
  io: CommandIo,
  usage: string,
  json: () => boolean,
  body: () => Promise<void>,
): Promise<number> {
  try {
    await body();
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`vtl: ${err.message}\n\n${usage}`);
      return 2;
    }
    if (err instanceof ClientError) {
      if (err.code === 'ERR_USAGE') {
        io.err(`vtl: ${err.message}\n`);
        return 2;
      }
      if (json())
        io.out(
          JSON.stringify({ error: { code: err.code, message: err.message, status: err.status } }) + '\n',
        );
      io.err(`vtl: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

export function printJson(io: CommandIo, value: unknown): void {
  io.out(JSON.stringify(value, null, 2) + '\n');
}

/** Left-aligned columns, two spaces apart, header in capitals; '-' for absent values. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly (string | number | null | undefined)[])[],
): string {
  const cells = [
    headers.map((h) => h.toUpperCase()),
    ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c)))),
  ];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return (
    cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') +
    '\n'
  );
}

export function hex4(n: number): string {
  return '0x' + n.toString(16).toUpperCase().padStart(4, '0');
}
