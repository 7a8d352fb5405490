import { parseArgs } from 'node:util';
import { issueLocalToken } from './local-auth.ts';
import { localDataDir } from './local-config.ts';

/** `npm run --silent token -- [--tenant <tid>] [--read-only]`: prints a bearer token the local stack accepts. */
const USAGE = 'Usage: npm run --silent token -- [--tenant <tenant id>] [--read-only]';

let values: { tenant?: string; 'read-only'?: boolean };
try {
  ({ values } = parseArgs({ options: { tenant: { type: 'string' }, 'read-only': { type: 'boolean', default: false } } }));
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (values.tenant !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(values.tenant)) {
  console.error(`A tenant id is a GUID (letters, digits and dashes): '${values.tenant}'.\n${USAGE}`);
  process.exit(2);
}
const token = await issueLocalToken(localDataDir(), { tenantId: values.tenant, readOnly: values['read-only'] });
process.stdout.write(`${token}\n`);
