/**
 * The I_T nexus of a normal session (SAM-5 4.6.2): initiator port = iSCSI name + ISID, target
 * port = target name + portal group tag. Its TransportID is the SPC-4 7.6.4.6 iSCSI form with
 * FORMAT CODE 01b: "<name>,i,0x<isid>" NUL-terminated and padded to a multiple of 4.
 */
import type { Nexus } from '../scsi/types.js';

/** SPC-4 table 459: PROTOCOL IDENTIFIER 5h is iSCSI. */
const PROTOCOL_ISCSI = 0x5;
/** FORMAT CODE 01b: initiator port identifier (name plus ISID). */
const FORMAT_PORT = 0x1;

export function isidHex(isid: number): string {
  return isid.toString(16).padStart(12, '0');
}

export function initiatorPortName(initiatorName: string, isid: number): string {
  return `${initiatorName},i,0x${isidHex(isid)}`;
}

export function iscsiTransportId(initiatorName: string, isid: number): Buffer {
  const name = Buffer.from(initiatorPortName(initiatorName, isid) + '\0', 'utf8');
  const padded = (name.length + 3) & ~3;
  const id = Buffer.alloc(4 + padded);
  id[0] = (FORMAT_PORT << 6) | PROTOCOL_ISCSI;
  // ADDITIONAL LENGTH counts the bytes after byte 3 (SPC-4 table 467).
  id.writeUInt16BE(padded, 2);
  name.copy(id, 4);
  return id;
}

export function buildNexus(
  initiatorName: string,
  isid: number,
  targetName: string,
  portalGroupTag: number,
): Nexus {
  return {
    key: `${initiatorPortName(initiatorName, isid)}|${targetName},t,0x${portalGroupTag.toString(16).padStart(4, '0')}`,
    initiatorName,
    isid: isidHex(isid),
    transportId: iscsiTransportId(initiatorName, isid),
  };
}
