/** Z-Stack status codes the fake coordinator answers with. */
export const ZSUCCESS = 0x00;
export const ZFAILURE = 0x01;
export const AF_INVALID_PARAMETER = 0x02;
export const AF_MEM_FAIL = 0x10;
/** OSAL NV item init: the item did not exist and has been created (what a host expects when it creates one). */
export const NV_ITEM_UNINIT = 0x09;
export const NV_OPER_FAILED = 0x0a;
/** APS acknowledgement missing: what a host sees when the destination is not on the network. */
export const APS_NO_ACK = 0xa7;
