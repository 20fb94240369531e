/**
 * The MT commands the fake coordinator answers, by subsystem and command id (Z-Stack MT numbering), each with
 * its name (as the request log and `unhandled` show them) and its handler.
 */
import { type FakeZStackCoordinator } from './coordinator.ts';
import { type MtReader, MtSubsystem, MtWriter } from './mt.ts';
import { NV_ITEM_UNINIT, NV_OPER_FAILED, ZSUCCESS } from './status.ts';

type Handler = (r: MtReader, self: FakeZStackCoordinator) => Buffer | void;

export interface CommandDef {
  name: string;
  handle: Handler;
}

const key = (sub: number, cmd: number) => (sub << 8) | cmd;

const COMMANDS = new Map<number, CommandDef>();
function def(sub: MtSubsystem, cmd: number, name: string, handle: Handler): void {
  COMMANDS.set(key(sub, cmd), { name, handle });
}
const status = (s: number) => Buffer.of(s);

// SYS
def(MtSubsystem.SYS, 0x00, 'SYS_RESET_REQ', (_r, c) => c.resetRequest());
def(MtSubsystem.SYS, 0x01, 'SYS_PING', () => new MtWriter().u16(0x0179).build());
// transport revision, product (1 = Z-Stack 3.x.0), major, minor, maintenance, revision (a build date).
def(MtSubsystem.SYS, 0x02, 'SYS_VERSION', () => new MtWriter().u8(2).u8(1).u8(2).u8(7).u8(1).u32(20240710).build());
def(MtSubsystem.SYS, 0x04, 'SYS_GET_EXTADDR', (_r, c) => new MtWriter().ieee(c.ieee).build());
def(MtSubsystem.SYS, 0x07, 'SYS_OSAL_NV_ITEM_INIT', (r, c) => {
  const id = r.u16();
  const len = r.u16();
  const initLen = r.u8();
  // 0x09 means "created now" (what a host expects when it creates an item); 0x00 "existed already".
  return status(c.nv.init(id, len, r.bytes(initLen)) ? NV_ITEM_UNINIT : ZSUCCESS);
});
def(MtSubsystem.SYS, 0x08, 'SYS_OSAL_NV_READ', (r, c) => {
  const id = r.u16();
  return c.nvReadChunk(id, r.u8());
});
def(MtSubsystem.SYS, 0x09, 'SYS_OSAL_NV_WRITE', (r, c) => {
  const id = r.u16();
  const offset = r.u8();
  const len = r.u8();
  return status(c.nv.write(id, offset, r.bytes(len)) ? ZSUCCESS : NV_OPER_FAILED);
});
def(MtSubsystem.SYS, 0x12, 'SYS_OSAL_NV_DELETE', (r, c) => status(c.nv.delete(r.u16()) ? ZSUCCESS : NV_ITEM_UNINIT));
def(MtSubsystem.SYS, 0x13, 'SYS_OSAL_NV_LENGTH', (r, c) => new MtWriter().u16(c.nv.length(r.u16())).build());
def(MtSubsystem.SYS, 0x1c, 'SYS_OSAL_NV_READ_EXT', (r, c) => {
  const id = r.u16();
  return c.nvReadChunk(id, r.u16());
});
def(MtSubsystem.SYS, 0x1d, 'SYS_OSAL_NV_WRITE_EXT', (r, c) => {
  const id = r.u16();
  const offset = r.u16();
  const len = r.u16();
  return status(c.nv.write(id, offset, r.bytes(len)) ? ZSUCCESS : NV_OPER_FAILED);
});
def(MtSubsystem.SYS, 0x30, 'SYS_NV_CREATE', (r, c) => {
  const [sys, item, sub] = [r.u8(), r.u16(), r.u16()];
  c.nv.extCreate(sys, item, sub, r.u32());
  return status(ZSUCCESS);
});
def(MtSubsystem.SYS, 0x31, 'SYS_NV_DELETE', (r, c) => status(c.nv.extDelete(r.u8(), r.u16(), r.u16()) ? ZSUCCESS : NV_ITEM_UNINIT));
def(MtSubsystem.SYS, 0x32, 'SYS_NV_LENGTH', (r, c) => new MtWriter().u32(c.nv.extLength(r.u8(), r.u16(), r.u16())).build());
def(MtSubsystem.SYS, 0x33, 'SYS_NV_READ', (r, c) => {
  const [sys, item, sub, offset, len] = [r.u8(), r.u16(), r.u16(), r.u16(), r.u8()];
  const v = c.nv.extRead(sys, item, sub);
  if (!v) return Buffer.of(NV_OPER_FAILED, 0);
  const chunk = v.subarray(offset, offset + len);
  return Buffer.concat([Buffer.of(ZSUCCESS, chunk.length), chunk]);
});
def(MtSubsystem.SYS, 0x34, 'SYS_NV_WRITE', (r, c) => {
  const [sys, item, sub, offset, len] = [r.u8(), r.u16(), r.u16(), r.u16(), r.u8()];
  return status(c.nv.extWrite(sys, item, sub, offset, r.bytes(len)) ? ZSUCCESS : NV_OPER_FAILED);
});
def(MtSubsystem.SYS, 0x0f, 'SYS_STACK_TUNE', () => status(0));

// UTIL
def(MtSubsystem.UTIL, 0x00, 'UTIL_GET_DEVICE_INFO', (_r, c) => c.deviceInfo());
def(MtSubsystem.UTIL, 0x0a, 'UTIL_LED_CONTROL', () => status(ZSUCCESS));
// Association table lookup (a host's no-response recovery): the meters are routers, never in it.
def(MtSubsystem.UTIL, 0x4a, 'UTIL_ASSOC_GET_WITH_ADDRESS', () => new MtWriter().u16(0xfffe).u16(0xffff).u8(0xff).build());

// AF
def(MtSubsystem.AF, 0x00, 'AF_REGISTER', (r, c) => status(c.registerEndpoint(r)));
def(MtSubsystem.AF, 0x01, 'AF_DATA_REQUEST', (r, c) => status(c.dataRequest(r)));
def(MtSubsystem.AF, 0x02, 'AF_DATA_REQUEST_EXT', (r, c) => status(c.dataRequestExt(r)));
def(MtSubsystem.AF, 0x11, 'AF_DATA_STORE', (r, c) => status(c.dataStore(r)));
def(MtSubsystem.AF, 0x12, 'AF_DATA_RETRIEVE', (r, c) => c.dataRetrieve(r));

// ZDO
def(MtSubsystem.ZDO, 0x00, 'ZDO_NWK_ADDR_REQ', (r, c) => status(c.addressRequest(0x00, r)));
def(MtSubsystem.ZDO, 0x01, 'ZDO_IEEE_ADDR_REQ', (r, c) => status(c.addressRequest(0x01, r)));
def(MtSubsystem.ZDO, 0x02, 'ZDO_NODE_DESC_REQ', (r, c) => status(c.zdoRequest(0x02, r)));
def(MtSubsystem.ZDO, 0x04, 'ZDO_SIMPLE_DESC_REQ', (r, c) => status(c.zdoRequest(0x04, r)));
def(MtSubsystem.ZDO, 0x05, 'ZDO_ACTIVE_EP_REQ', (r, c) => status(c.zdoRequest(0x05, r)));
def(MtSubsystem.ZDO, 0x34, 'ZDO_MGMT_LEAVE_REQ', (r, c) => status(c.mgmtLeave(r)));
def(MtSubsystem.ZDO, 0x36, 'ZDO_MGMT_PERMIT_JOIN_REQ', (r, c) => status(c.mgmtPermitJoin(r)));
def(MtSubsystem.ZDO, 0x40, 'ZDO_STARTUP_FROM_APP', (_r, c) => status(c.startupFromApp()));
def(MtSubsystem.ZDO, 0x45, 'ZDO_EXT_ROUTE_DISC', () => status(ZSUCCESS));
def(MtSubsystem.ZDO, 0x4a, 'ZDO_EXT_FIND_GROUP', (r, c) => c.groupFind(r));
def(MtSubsystem.ZDO, 0x4b, 'ZDO_EXT_ADD_GROUP', (r, c) => status(c.groupAdd(r)));
def(MtSubsystem.ZDO, 0x50, 'ZDO_EXT_NWK_INFO', (_r, c) => c.extNwkInfo());

// APP_CNF (base device behaviour commissioning)
def(MtSubsystem.APP_CNF, 0x08, 'APP_CNF_BDB_SET_CHANNEL', () => status(ZSUCCESS));
def(MtSubsystem.APP_CNF, 0x04, 'APP_CNF_BDB_ADD_INSTALLCODE', (r, c) => status(c.addInstallCode(r)));
def(MtSubsystem.APP_CNF, 0x05, 'APP_CNF_BDB_START_COMMISSIONING', (r, c) => status(c.bdbStartCommissioning(r.u8())));

/** For tests: the names this fake answers to. */
export function implementedCommands(): string[] {
  return [...COMMANDS.values()].map((d) => d.name).sort();
}



export function commandFor(subsystem: number, command: number): CommandDef | undefined {
  return COMMANDS.get(key(subsystem, command));
}
