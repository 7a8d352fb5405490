/**
 * The local SCIM service alone in a process, for tests that kill it with SIGKILL and start another on what it
 * left on disk: `node --import tsx test/support/scim-service-process.ts <dataFile> <token>` prints
 * `SCIM <url>` once it listens.
 */
import { startLocalScimService } from '../../local/scim-service/local-scim-service.ts';

const [dataFile, token] = process.argv.slice(2);
if (dataFile === undefined || token === undefined) throw new Error('usage: scim-service-process.ts <dataFile> <token>');
const service = await startLocalScimService({ token, dataFile });
console.log(`SCIM ${service.url}`);
