/** The DCC's registry of parties and devices: what a registration changes, and what a refused one leaves. */
import test from 'ava';
import { MEMO_SIZE, Registry } from '../../emulator/registry.ts';
import { openStore } from '../../emulator/store.ts';
import { parseEui } from '../../protocol/smki/eui.ts';

const SUPPLIER = parseEui('90B3D51F30010001');
const NEW_SUPPLIER = parseEui('90B3D51F30010002');
const DISTRIBUTOR = parseEui('90B3D51F30020001');

function registry(t: { teardown(f: () => void): void }): Registry {
  const db = openStore(null);
  t.teardown(() => db.close());
  const r = new Registry(db);
  r.putParty({ eui: SUPPLIER, name: 'Old supplier', roles: ['IS', 'GS'] });
  r.putParty({ eui: NEW_SUPPLIER, name: 'New supplier', roles: ['IS', 'GS'] });
  r.putParty({ eui: DISTRIBUTOR, name: 'Distributor', roles: ['ED'] });
  return r;
}

test('a change of supplier that names only the supplier keeps what it leaves out: network operator, SMI status, a SMETS1 fuel', (t) => {
  const r = registry(t);
  const esme = parseEui('00DB0000000000E1');
  r.putDevice({ eui: esme, type: 'ESME', twin: true, supplier: SUPPLIER, networkOperator: DISTRIBUTOR, smiStatus: 'decommissioned' });
  r.putDevice({ eui: esme, type: 'ESME', supplier: NEW_SUPPLIER });
  t.like(r.device(esme), { supplier: NEW_SUPPLIER, twin: true, networkOperator: DISTRIBUTOR, smiStatus: 'decommissioned' });
  const gas = parseEui('00DB0000000000E2');
  r.putDevice({ eui: gas, type: 'SMETS1', fuel: 'gas', supplier: SUPPLIER });
  r.putDevice({ eui: gas, type: 'SMETS1', supplier: NEW_SUPPLIER });
  t.like(r.device(gas), { supplier: NEW_SUPPLIER, fuel: 'gas' });
  // Named, a field still changes; a new device still gets the defaults.
  r.putDevice({ eui: esme, type: 'ESME', supplier: NEW_SUPPLIER, networkOperator: null, smiStatus: 'commissioned' });
  t.like(r.device(esme), { networkOperator: null, smiStatus: 'commissioned' });
  t.like(r.putDevice({ eui: '00DB0000000000E3', type: 'GSME', supplier: SUPPLIER }), { twin: false, networkOperator: null, smiStatus: 'commissioned' });
});

test('an inventory feed refused part-way registers none of it, and the registry does not answer for the rows rolled back', (t) => {
  const r = registry(t);
  const first = parseEui('00DB0000000000F1');
  t.throws(() => r.putDevices([
    { eui: first, type: 'ESME', supplier: SUPPLIER },
    { eui: first, type: 'GSME', supplier: SUPPLIER },
  ]), { message: /a device's kind does not change/ });
  t.is(r.device(first), undefined);
  t.deepEqual(r.devices(), []);
});

test('an update of a registered device may name only what changes: its SMI status, or its network operator', (t) => {
  const r = registry(t);
  const esme = parseEui('00DB0000000000E3');
  r.putDevice({ eui: esme, type: 'ESME', twin: true, supplier: SUPPLIER, networkOperator: DISTRIBUTOR });
  r.putDevice({ eui: esme, smiStatus: 'suspended' } as never);
  t.like(r.device(esme), { type: 'ESME', twin: true, supplier: SUPPLIER, networkOperator: DISTRIBUTOR, smiStatus: 'suspended' });
  r.putDevice({ eui: esme, networkOperator: null } as never);
  t.like(r.device(esme), { type: 'ESME', supplier: SUPPLIER, networkOperator: null, smiStatus: 'suspended' });
  // A device not registered yet still needs its type and supplier.
  t.throws(() => r.putDevice({ eui: parseEui('00DB0000000000E4'), smiStatus: 'suspended' } as never), { message: /type|supplier/ });
});

test('looking up EUIs no party or device has keeps no more than MEMO_SIZE of them in memory', (t) => {
  const r = registry(t);
  for (let i = 0; i < 3 * MEMO_SIZE; i++) {
    const eui = parseEui(`90B3D51F4${i.toString(16).toUpperCase().padStart(7, '0')}`);
    t.is(r.party(eui), undefined);
    t.is(r.device(eui), undefined);
  }
  t.true(r.memoized.parties <= MEMO_SIZE && r.memoized.devices <= MEMO_SIZE, JSON.stringify(r.memoized));
  t.is(r.party(SUPPLIER)?.name, 'Old supplier', 'a registered party is still found');
});
