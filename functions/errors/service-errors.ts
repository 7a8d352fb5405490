/**
 * The service's error tree. Each error carries its HTTP status and the Graph `code` clients branch on;
 * `renderGraphError` in ../http turns one into Graph's error body.
 */
export class ServiceError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends ServiceError {
  constructor(message: string, code = 'invalidRequest') {
    super(400, code, message);
  }
}

/** 401 with RFC 6750's challenge: `error="invalid_token"` when a token was sent but refused, bare when none was. */
export class UnauthenticatedError extends ServiceError {
  constructor(message = 'Access token is missing or invalid.', tokenSent = true) {
    super(401, 'InvalidAuthenticationToken', message, {
      'www-authenticate': tokenSent ? 'Bearer realm="graph-sync-jobs", error="invalid_token"' : 'Bearer realm="graph-sync-jobs"',
    });
  }
}

export class ForbiddenError extends ServiceError {
  constructor(message = 'Insufficient privileges to complete the operation.') {
    super(403, 'Authorization_RequestDenied', message);
  }
}

export class NotFoundError extends ServiceError {
  constructor(message: string) {
    super(404, 'Request_ResourceNotFound', message);
  }
}

export class MethodNotAllowedError extends ServiceError {
  constructor(method: string, allowed: string[]) {
    super(405, 'notAllowed', `The HTTP method '${method}' is not allowed on this resource.`, {
      allow: allowed.join(', '),
    });
  }
}

export class ConflictError extends ServiceError {
  constructor(message: string) {
    super(409, 'conflict', message);
  }
}

export class PayloadTooLargeError extends ServiceError {
  constructor(limitBytes: number) {
    super(413, 'requestEntityTooLarge', `The request body exceeds the limit of ${limitBytes} bytes.`);
  }
}

export class UnsupportedMediaTypeError extends ServiceError {
  constructor() {
    super(415, 'invalidRequest', 'The request body must be JSON (Content-Type: application/json).');
  }
}

export class ServiceUnavailableError extends ServiceError {
  constructor(message: string, retryAfterSeconds = 5) {
    super(503, 'serviceNotAvailable', message, { 'retry-after': String(retryAfterSeconds) });
  }
}
