/**
 * The text key table (RFC 7143 12 and 13; RFC 7144 for iSCSIProtocolLevel, RFC 7145 for the
 * iSER keys): each key with its kind, result function, use (stage), leading-only flag and
 * discovery irrelevance. The engine in negotiation.ts only walks this table (SPDK param.c).
 */
import type { SessionParams, TargetOffer } from './params.js';
import { MAX_SEGMENT_LENGTH, MIN_SEGMENT_LENGTH } from './params.js';

export const Answer = {
  NOT_UNDERSTOOD: 'NotUnderstood',
  IRRELEVANT: 'Irrelevant',
  REJECT: 'Reject',
} as const;

/** Where a key may appear: the security stage, either login stage, or Text in full feature phase. */
export type KeyUse = 'security' | 'login' | 'ffp';

export type KeyKind =
  | 'list'
  | 'numerical-min'
  | 'numerical-max'
  | 'boolean-and'
  | 'boolean-or'
  | 'declarative'
  | 'authentication'
  | 'obsolete';

export interface NegotiationContext {
  readonly offer: TargetOffer;
  readonly params: SessionParams;
}

export interface KeySpec {
  readonly name: string;
  readonly kind: KeyKind;
  readonly use: KeyUse;
  readonly leadingOnly: boolean;
  /** RFC 7143 13.*: "Irrelevant when: SessionType=Discovery". */
  readonly irrelevantInDiscovery: boolean;
  /** Who may send it; the target answers Irrelevant to a target-only declaration. */
  readonly sender: 'initiator' | 'target' | 'both';
  /**
   * Computes the answer to an offer and records the result; null means no answer (a
   * declaration). Authentication keys have no function: the CHAP exchange handles them.
   */
  readonly negotiate: ((value: string, ctx: NegotiationContext) => string | null) | null;
}

/** RFC 7143 6.1: numerical values are decimal or hexadecimal (0x); anything else is malformed. */
export function parseNumber(value: string): number | null {
  if (/^[0-9]{1,10}$/.test(value)) return Number(value);
  if (/^0[xX][0-9a-fA-F]{1,8}$/.test(value)) return parseInt(value.slice(2), 16);
  return null;
}

function parseBoolean(value: string): boolean | null {
  return value === 'Yes' ? true : value === 'No' ? false : null;
}

const yesNo = (b: boolean): string => (b ? 'Yes' : 'No');

type ParamsOf<T> = {
  [K in keyof SessionParams]: SessionParams[K] extends T ? K : never;
}[keyof SessionParams];

interface Common {
  use?: KeyUse;
  leadingOnly?: boolean;
  irrelevantInDiscovery?: boolean;
}

function base(
  name: string,
  kind: KeyKind,
  c: Common,
  negotiate: KeySpec['negotiate'],
  sender: KeySpec['sender'] = 'both',
): KeySpec {
  return {
    name,
    kind,
    use: c.use ?? 'login',
    leadingOnly: c.leadingOnly ?? true,
    irrelevantInDiscovery: c.irrelevantInDiscovery ?? false,
    sender,
    negotiate,
  };
}

/** Numerical with result function min or max (RFC 7143 6.2.2); out of range → Reject. */
function numerical(
  name: string,
  fn: 'min' | 'max',
  range: readonly [number, number],
  field: ParamsOf<number>,
  ours: (o: TargetOffer) => number,
  c: Common = {},
): KeySpec {
  return base(name, fn === 'min' ? 'numerical-min' : 'numerical-max', c, (value, ctx) => {
    const n = parseNumber(value);
    if (n === null || n < range[0] || n > range[1]) return Answer.REJECT;
    const result = fn === 'min' ? Math.min(n, ours(ctx.offer)) : Math.max(n, ours(ctx.offer));
    ctx.params[field] = result;
    return String(result);
  });
}

/** Boolean with result function AND or OR (RFC 7143 6.2.2). */
function boolean(
  name: string,
  fn: 'and' | 'or',
  field: ParamsOf<boolean>,
  ours: (o: TargetOffer) => boolean,
  c: Common = {},
): KeySpec {
  return base(name, fn === 'and' ? 'boolean-and' : 'boolean-or', c, (value, ctx) => {
    const b = parseBoolean(value);
    if (b === null) return Answer.REJECT;
    const result = fn === 'and' ? b && ours(ctx.offer) : b || ours(ctx.offer);
    ctx.params[field] = result;
    return yesNo(result);
  });
}

/** List (RFC 7143 6.2.1): the first value of the offer we support, else Reject. */
function list(
  name: string,
  supported: (o: TargetOffer) => readonly string[],
  apply: (v: string, p: SessionParams) => void,
  c: Common = {},
): KeySpec {
  return base(name, 'list', c, (value, ctx) => {
    const ours = supported(ctx.offer);
    const pick = value.split(',').find((v) => ours.includes(v));
    if (pick === undefined) return Answer.REJECT;
    apply(pick, ctx.params);
    return pick;
  });
}

/** A declaration by the initiator: recorded, never answered. */
function declaredByInitiator(
  name: string,
  apply: ((v: string, p: SessionParams) => string | null) | null,
  c: Common = {},
): KeySpec {
  return base(name, 'declarative', c, (value, ctx) => (apply ? apply(value, ctx.params) : null), 'initiator');
}

/** A declaration only the target makes; an initiator sending it gets Irrelevant. */
function declaredByTarget(name: string, c: Common = {}): KeySpec {
  return base(name, 'declarative', c, () => Answer.IRRELEVANT, 'target');
}

const auth = (name: string): KeySpec =>
  base(name, 'authentication', { use: 'security', leadingOnly: false }, null);

const SEGMENT_RANGE = [MIN_SEGMENT_LENGTH, MAX_SEGMENT_LENGTH] as const;

/** Every key of RFC 7143 12-13 plus RFC 7144/7145 keys, in the RFC's order. */
export const KEYS: readonly KeySpec[] = [
  // RFC 7143 12.1: authentication.
  auth('AuthMethod'),
  auth('CHAP_A'),
  auth('CHAP_I'),
  auth('CHAP_C'),
  auth('CHAP_N'),
  auth('CHAP_R'),
  // 13.1: digests, per connection.
  list(
    'HeaderDigest',
    (o) => o.digests,
    (v, p) => (p.headerDigest = v === 'CRC32C'),
    { leadingOnly: false },
  ),
  list(
    'DataDigest',
    (o) => o.digests,
    (v, p) => (p.dataDigest = v === 'CRC32C'),
    { leadingOnly: false },
  ),
  // 13.2: MC/S is not offered; min with our 1.
  numerical('MaxConnections', 'min', [1, 65535], 'maxConnections', () => 1, { irrelevantInDiscovery: true }),
  // 13.3: only in Text in full feature phase (see session/send-targets.ts).
  base('SendTargets', 'declarative', { use: 'ffp', leadingOnly: false }, null, 'initiator'),
  // 13.4-13.9: names, aliases, addresses: declarations.
  declaredByInitiator('TargetName', (v, p) => ((p.targetName = v), null), { leadingOnly: true }),
  declaredByInitiator('InitiatorName', (v, p) => ((p.initiatorName = v), null), { leadingOnly: true }),
  declaredByTarget('TargetAlias'),
  declaredByInitiator('InitiatorAlias', (v, p) => ((p.initiatorAlias = v), null)),
  declaredByTarget('TargetAddress'),
  declaredByTarget('TargetPortalGroupTag'),
  // 13.10-13.11: InitialR2T is OR (either side may insist on R2Ts), ImmediateData is AND.
  boolean('InitialR2T', 'or', 'initialR2T', (o) => o.initialR2T, { irrelevantInDiscovery: true }),
  boolean('ImmediateData', 'and', 'immediateData', (o) => o.immediateData, { irrelevantInDiscovery: true }),
  // 13.12: declarative, per connection and per direction: record the initiator's receive limit.
  declaredByInitiator(
    'MaxRecvDataSegmentLength',
    (v, p) => {
      const n = parseNumber(v);
      if (n === null || n < SEGMENT_RANGE[0] || n > SEGMENT_RANGE[1]) return Answer.REJECT;
      p.initiatorMaxRecvDataSegmentLength = n;
      return null;
    },
    { leadingOnly: false },
  ),
  // 13.13-13.14.
  numerical('MaxBurstLength', 'min', SEGMENT_RANGE, 'maxBurstLength', (o) => o.maxBurstLength, {
    irrelevantInDiscovery: true,
  }),
  numerical('FirstBurstLength', 'min', SEGMENT_RANGE, 'firstBurstLength', (o) => o.firstBurstLength, {
    irrelevantInDiscovery: true,
  }),
  // 13.15-13.16: the longer wait and the shorter retention win.
  numerical('DefaultTime2Wait', 'max', [0, 3600], 'defaultTime2Wait', (o) => o.defaultTime2Wait),
  numerical('DefaultTime2Retain', 'min', [0, 3600], 'defaultTime2Retain', (o) => o.defaultTime2Retain),
  // 13.17.
  numerical('MaxOutstandingR2T', 'min', [1, 65535], 'maxOutstandingR2T', (o) => o.maxOutstandingR2T, {
    irrelevantInDiscovery: true,
  }),
  // 13.18-13.19: OR with our Yes: data always in order.
  boolean('DataPDUInOrder', 'or', 'dataPDUInOrder', () => true, { irrelevantInDiscovery: true }),
  boolean('DataSequenceInOrder', 'or', 'dataSequenceInOrder', () => true, { irrelevantInDiscovery: true }),
  // 13.20: ERL 0 only.
  numerical('ErrorRecoveryLevel', 'min', [0, 2], 'errorRecoveryLevel', () => 0),
  // 13.21: checked by the login state machine before negotiation (it decides 0x0209).
  declaredByInitiator('SessionType', null),
  // 13.23: list; only the RFC 3720 behaviour is implemented.
  list(
    'TaskReporting',
    () => ['RFC3720'],
    (v, p) => (p.taskReporting = v),
  ),
  // RFC 7144 13.1: level 1 is RFC 7143.
  numerical('iSCSIProtocolLevel', 'min', [0, 31], 'protocolLevel', () => 1),
  // RFC 7143 13.24 / RFC 3720 A.3: markers are obsolete; answer No, intervals are irrelevant.
  base('IFMarker', 'obsolete', { leadingOnly: false }, (v) =>
    parseBoolean(v) === null ? Answer.REJECT : 'No',
  ),
  base('OFMarker', 'obsolete', { leadingOnly: false }, (v) =>
    parseBoolean(v) === null ? Answer.REJECT : 'No',
  ),
  base('IFMarkInt', 'obsolete', { leadingOnly: false }, () => Answer.IRRELEVANT),
  base('OFMarkInt', 'obsolete', { leadingOnly: false }, () => Answer.IRRELEVANT),
  // RFC 7145 6: iSER needs RDMA; AND with our No, the other iSER keys are then irrelevant.
  base('RDMAExtensions', 'boolean-and', {}, (v) => (parseBoolean(v) === null ? Answer.REJECT : 'No')),
  base('TargetRecvDataSegmentLength', 'declarative', { leadingOnly: false }, () => Answer.IRRELEVANT),
  base('InitiatorRecvDataSegmentLength', 'declarative', { leadingOnly: false }, () => Answer.IRRELEVANT),
  base('MaxOutstandingUnexpectedPDUs', 'numerical-min', {}, () => Answer.IRRELEVANT),
];

export const KEY_TABLE: ReadonlyMap<string, KeySpec> = new Map(KEYS.map((k) => [k.name, k]));
