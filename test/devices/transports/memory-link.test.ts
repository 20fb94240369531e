import test from 'ava';
import { linkContract } from '../../../devices/transports/contract.ts';
import { createMemoryLinkPair } from '../../../devices/transports/memory-link.ts';

linkContract(test, {
  name: 'memory link',
  create: () => {
    const pair = createMemoryLinkPair();
    return { dcc: pair.dcc, device: pair.device, faults: pair.faults };
  },
  faults: true,
});
