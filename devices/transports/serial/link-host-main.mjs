// Entry of the link host process (link-host.ts): registers tsx with the package's tsconfig, then runs it.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../../tsconfig.json', import.meta.url)) });
const { runLinkHost } = await import('./link-host.ts');
await runLinkHost(process.argv[2]);
