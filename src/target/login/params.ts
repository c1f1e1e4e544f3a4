/**
 * The values a login negotiates (RFC 7143 13) and what this target offers. Defaults are the
 * RFC's: a key the initiator never proposes keeps its default, whatever we would prefer.
 */

export type SessionType = 'Normal' | 'Discovery';

/** Operational parameters in effect for a connection and its session. */
export interface SessionParams {
  headerDigest: boolean;
  dataDigest: boolean;
  maxConnections: number;
  initialR2T: boolean;
  immediateData: boolean;
  /** The initiator's declared MaxRecvDataSegmentLength: caps every PDU we send it. */
  initiatorMaxRecvDataSegmentLength: number;
  /** Our declared MaxRecvDataSegmentLength: caps every PDU it sends us. */
  targetMaxRecvDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  maxOutstandingR2T: number;
  dataPDUInOrder: boolean;
  dataSequenceInOrder: boolean;
  errorRecoveryLevel: number;
  taskReporting: string;
  protocolLevel: number;
  sessionType: SessionType;
  initiatorName: string;
  initiatorAlias: string;
  targetName: string;
}

/** What the target is willing to accept; each value is the target side of a result function. */
export interface TargetOffer {
  maxRecvDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  maxOutstandingR2T: number;
  immediateData: boolean;
  initialR2T: boolean;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  /** Digests the target accepts, in no particular order: the initiator's order decides. */
  digests: readonly ('CRC32C' | 'None')[];
}

/** RFC 7143 13: the limits for 24-bit lengths. */
export const MIN_SEGMENT_LENGTH = 512;
export const MAX_SEGMENT_LENGTH = 0xffffff;

export const DEFAULT_TARGET_OFFER: TargetOffer = {
  maxRecvDataSegmentLength: 262144,
  maxBurstLength: 16776192,
  firstBurstLength: 262144,
  maxOutstandingR2T: 4,
  immediateData: true,
  initialR2T: false,
  defaultTime2Wait: 2,
  // ERL 0 keeps no task state across a connection loss (RFC 7143 13.16).
  defaultTime2Retain: 0,
  digests: ['CRC32C', 'None'],
};

/** RFC 7143 13: the defaults that apply when a key is not negotiated. */
export function defaultParams(offer: TargetOffer): SessionParams {
  return {
    headerDigest: false,
    dataDigest: false,
    maxConnections: 1,
    initialR2T: true,
    immediateData: true,
    initiatorMaxRecvDataSegmentLength: 8192,
    targetMaxRecvDataSegmentLength: offer.maxRecvDataSegmentLength,
    maxBurstLength: 262144,
    firstBurstLength: 65536,
    defaultTime2Wait: 2,
    defaultTime2Retain: 20,
    maxOutstandingR2T: 1,
    dataPDUInOrder: true,
    dataSequenceInOrder: true,
    errorRecoveryLevel: 0,
    taskReporting: 'RFC3720',
    protocolLevel: 0,
    sessionType: 'Normal',
    initiatorName: '',
    initiatorAlias: '',
    targetName: '',
  };
}

/** Values after login: FirstBurstLength never exceeds MaxBurstLength (RFC 7143 13.14). */
export function finalizeParams(p: SessionParams): SessionParams {
  if (p.firstBurstLength > p.maxBurstLength) p.firstBurstLength = p.maxBurstLength;
  return p;
}
