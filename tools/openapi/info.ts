import { fileURLToPath } from 'node:url';
import packageJson from '../../package.json' with { type: 'json' };
import type { DocumentInfo } from './document.ts';

/** The committed document, served by GET /openapi.json. */
export const OPENAPI_FILE = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));

export const documentInfo: DocumentInfo = { version: packageJson.version };
