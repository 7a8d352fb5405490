import { parseArgs } from 'node:util';
import { issueLocalToken } from './local-auth.ts';
import { localDataDir } from './local-config.ts';

/** `npm run --silent token -- [--tenant <tid>] [--read-only]`: prints a bearer token the local stack accepts. */
const { values } = parseArgs({
  options: { tenant: { type: 'string' }, 'read-only': { type: 'boolean', default: false } },
});
const token = await issueLocalToken(localDataDir(), { tenantId: values.tenant, readOnly: values['read-only'] });
process.stdout.write(`${token}\n`);
