/** The SCIM error message schema (RFC 7644 §3.12). */
export const scimErrorSchemaUrn = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** An error the local SCIM service answers with: an HTTP status, an optional `scimType` and a human `detail`. */
export class ScimServiceError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: string | null,
    detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'ScimServiceError';
  }
}

export const badRequest = (scimType: string, detail: string): ScimServiceError => new ScimServiceError(400, scimType, detail);
export const notFound = (detail: string): ScimServiceError => new ScimServiceError(404, null, detail);
export const uniquenessConflict = (detail: string): ScimServiceError => new ScimServiceError(409, 'uniqueness', detail);

/** The RFC 7644 error body: `status` is a string, `scimType` only when there is one. */
export function renderScimError(error: ScimServiceError): Record<string, unknown> {
  return {
    schemas: [scimErrorSchemaUrn],
    status: String(error.status),
    ...(error.scimType === null ? {} : { scimType: error.scimType }),
    detail: error.message,
  };
}
