import { describe, expect, it } from 'vitest';
import { buildNexus, iscsiTransportId } from '../../../src/target/session/nexus.js';

describe('I_T nexus', () => {
  it('builds the SPC-4 7.6.4.6 iSCSI TransportID: format 01b, protocol 5h, "<name>,i,0x<isid>" NUL-padded', () => {
    const id = iscsiTransportId('iqn.2024-01.org.example:host1', 0x23d000000001);
    const name = 'iqn.2024-01.org.example:host1,i,0x23d000000001';
    expect(id[0]).toBe(0x45);
    expect(id.readUInt16BE(2)).toBe(id.length - 4);
    expect((id.length - 4) % 4).toBe(0);
    expect(id.subarray(4, 4 + name.length).toString()).toBe(name);
    expect(id[4 + name.length]).toBe(0);
  });

  it('keys a nexus by initiator port and target port', () => {
    const n = buildNexus('iqn.2024-01.org.example:host1', 0x400000000002, 'iqn.2024-01.org.example:vtl', 1);
    expect(n.key).toBe('iqn.2024-01.org.example:host1,i,0x400000000002|iqn.2024-01.org.example:vtl,t,0x0001');
    expect(n.isid).toBe('400000000002');
    expect(n.initiatorName).toBe('iqn.2024-01.org.example:host1');
  });
});
