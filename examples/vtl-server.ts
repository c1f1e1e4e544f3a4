/**
 * The example VTL server on its embedded defaults: `npm start`.
 * Data in ./vtl-data, iSCSI on 127.0.0.1:3260: a library with an IBM 03584 changer at LUN 0
 * (24 slots holding E01001L8..E01020L8 and CLN001L1, 4 mailslots) and two empty LTO-8 drives at
 * LUNs 1 and 2; the management API on 127.0.0.1:3270. Any `vtl serve` option may follow:
 * `npm start -- --portal 127.0.0.1:3261`.
 */
import { serve } from '../src/cli/serve.js';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    config: { type: 'string', short: 'c' },
    'data-dir': { type: 'string' },
    portal: { type: 'string', multiple: true },
    transport: { type: 'string' },
    'log-level': { type: 'string' },
  },
  strict: true,
});

process.exitCode = await serve({
  configFile: values.config,
  dataDir: values['data-dir'],
  portals: values.portal,
  transport: values.transport,
  logLevel: values['log-level'],
});
