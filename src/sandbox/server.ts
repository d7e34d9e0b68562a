/**
 * The sandbox process: `node server.js --dir D [--port P] [--traffic RATE] [--instance N]`. The
 * directory says which app it plays: the seed's contract (seed-server), or the public app as
 * deployed when `sandbox start --profile trainingmonkey` made it so (profile.json).
 */
import { parseArgs } from 'node:util';
import { readSandboxProfile } from './trainingmonkey/schema.js';

const { values } = parseArgs({ options: { dir: { type: 'string' } }, strict: false });
const dir = typeof values.dir === 'string' ? values.dir : undefined;
if (dir && readSandboxProfile(dir)) await import('./trainingmonkey/server.js');
else await import('./seed-server.js');
