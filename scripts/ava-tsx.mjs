// ava runs test files in worker threads; `--import=tsx` does not reach them on Node 20,
// so each worker registers tsx's ESM loader itself.
import { register } from 'tsx/esm/api';

register();
