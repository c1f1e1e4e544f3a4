/**
 * Element status decoders written the way the clients parse (clients.md 2 'Changer element
 * reporting'): `pbsDecode` follows PBS pbs-tape sg_pt_changer.rs `decode_element_status_page`
 * (byte count checks, chunks of DESCRIPTOR LENGTH, DVCID type 1 must be 34 bytes), `mtxDecode`
 * follows mtx mtxl.c `ParseElementStatus` (counts elements from the header, walks BYTE COUNT OF
 * DESCRIPTOR DATA AVAILABLE per page). Both throw where the clients bail.
 */
export interface DecodedElement {
  type: number;
  address: number;
  full: boolean;
  volumeTag: string | null;
  svalid: boolean;
  source: number;
  flags: number;
  mediumType: number;
  byte6: number;
  dvcid?: { codeSet: number; idType: number; vendor?: string; product?: string; serial?: string } | null;
}

const trimAscii = (b: Buffer): string => b.toString('latin1').replace(/[\0 ]+$/, '');

export function pbsDecode(data: Buffer, start: number): DecodedElement[] {
  if (data.length < 8) throw new Error('short header');
  const first = data.readUInt16BE(0);
  const count = data.readUInt16BE(2);
  if (count === 0) return [];
  if (first < start) throw new Error('got wrong first_element_address_reported');
  const len = data.readUIntBE(5, 3);
  let body = data.subarray(8);
  if (len < body.length) body = body.subarray(0, len);
  else if (len > body.length) throw new Error(`wrong amount of data: expected ${len}, got ${body.length}`);
  const out: DecodedElement[] = [];
  let off = 0;
  while (off < body.length) {
    const type = body[off];
    const flags = body[off + 1];
    const descLen = body.readUInt16BE(off + 2);
    let n = body.readUIntBE(off + 5, 3);
    off += 8;
    if (n > body.length - off) n = body.length - off;
    if (descLen === 0) throw new Error('got elements, but descriptor length 0');
    const descr = body.subarray(off, off + n);
    off += n;
    for (let p = 0; p + descLen <= descr.length; p += descLen) {
      const d = descr.subarray(p, p + descLen);
      if (type < 1 || type > 4) throw new Error(`got unknown element type code ${type}`);
      const full = (d[2] & 1) !== 0;
      let q = 12;
      let volumeTag: string | null = null;
      if (flags & 0x80) {
        if (full) volumeTag = trimAscii(d.subarray(q, q + 32));
        q += 36;
      }
      if (flags & 0x40) q += 36;
      let dvcid: DecodedElement['dvcid'] = null;
      if (type === 4 && d.length >= q + 4) {
        const codeSet = d[q];
        const idType = d[q + 1];
        const idLen = d[q + 3];
        const id = d.subarray(q + 4, q + 4 + idLen);
        if (codeSet === 2 && idType === 1) {
          if (idLen !== 34) throw new Error('got wrong DVCID length');
          dvcid = {
            codeSet,
            idType,
            vendor: trimAscii(id.subarray(0, 8)),
            product: trimAscii(id.subarray(8, 24)),
            serial: trimAscii(id.subarray(24, 34)),
          };
        } else {
          dvcid = { codeSet, idType };
        }
      }
      out.push({
        type,
        address: d.readUInt16BE(0),
        full,
        volumeTag,
        svalid: (d[9] & 0x80) !== 0,
        source: d.readUInt16BE(10),
        flags: d[2],
        mediumType: d[9] & 0x07,
        byte6: d[6],
        dvcid,
      });
    }
  }
  return out;
}

/** mtx: "Data Transfer Element 0:Full (Storage Element 2 Loaded):VolumeTag = E01002L8" lines. */
export function mtxDecode(data: Buffer): DecodedElement[] {
  let count = data.readUInt16BE(2);
  let p = 8;
  const out: DecodedElement[] = [];
  while (count > 0) {
    if (p + 8 > data.length) throw new Error('ran past the data: element count larger than the pages sent');
    const type = data[p];
    const volBits = data[p + 1];
    const descLen = data.readUInt16BE(p + 2);
    let available = data.readUIntBE(p + 5, 3);
    p += 8;
    if (descLen < 4) throw new Error(`Transport Element Descriptor Length too short: ${descLen}`);
    if (available <= 0) count--;
    while (available > 0) {
      if (p + descLen > data.length) throw new Error('descriptor cut short');
      const d = data.subarray(p, p + descLen);
      const volumeTag = volBits & 0x80 && descLen > 11 ? trimAscii(d.subarray(12, 44)).split(' ')[0] : null;
      out.push({
        type,
        address: d.readUInt16BE(0),
        full: (d[2] & 1) !== 0,
        volumeTag: volumeTag || null,
        svalid: (d[9] & 0x80) !== 0,
        source: d.readUInt16BE(10),
        flags: d[2],
        mediumType: d[9] & 0x07,
        byte6: d[6],
      });
      p += descLen;
      available -= descLen;
      count--;
    }
  }
  return out;
}

/** The line mtx status prints for a drive (mtx.c): needs SVALID to name the slot. */
export function mtxDriveLine(drive: DecodedElement, index: number, storageAddresses: number[]): string {
  if (!drive.full) return `Data Transfer Element ${index}:Empty`;
  const slot = storageAddresses.indexOf(drive.source);
  const from =
    drive.svalid && slot >= 0 ? `Storage Element ${slot + 1} Loaded` : 'Unknown Storage Element Loaded';
  return `Data Transfer Element ${index}:Full (${from})${drive.volumeTag ? `:VolumeTag = ${drive.volumeTag}` : ''}`;
}
