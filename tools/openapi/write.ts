import { writeFile } from 'node:fs/promises';
import { buildOpenApiDocument, serialise } from './document.ts';
import { OPENAPI_FILE, documentInfo } from './info.ts';

/** `npm run openapi`: writes docs/openapi.json from the routes and the zod schemas. */
await writeFile(OPENAPI_FILE, serialise(buildOpenApiDocument(documentInfo)));
console.log(`wrote ${OPENAPI_FILE}`);
