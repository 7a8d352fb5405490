/**
 * What a failed HTTP request (exchange in http-exchange.ts, or Node's `fetch`) failed on, read from the error and its
 * causes. Shared by the directory and the target adapters so that both tell "cannot be reached at all" from "failed
 * this once" alike.
 */

/** Error codes of a system that cannot be reached at all: wrong name, nothing listening, no route. */
const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_NONAME']);
const tlsCodePattern = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_OSSL_)/;
const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/** How deep the cause chain is followed: fetch wraps its undici error, which may wrap an AggregateError of sockets. */
const maxDepth = 5;

/** Every error in the chain: the error itself, its `cause`s and the `errors` of an AggregateError, outermost first. */
function chain(error: unknown, depth = 0): object[] {
  if (typeof error !== 'object' || error === null || depth > maxDepth) return [];
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  const inner = Array.isArray(errors) ? errors.flatMap((each) => chain(each, depth + 1)) : [];
  return [error, ...chain(cause, depth + 1), ...inner];
}

/** The string `code`s found along the chain (`ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`, `ENOTALLOWED`…). */
export function errorCodes(error: unknown): string[] {
  return chain(error).flatMap((each) => {
    const { code } = each as { code?: unknown };
    return typeof code === 'string' ? [code] : [];
  });
}

/**
 * Why the system cannot be reached at all, worded to follow "the target" / "the directory": a refused address
 * (see publicOnlyAgent), DNS, a refused connection, no route, a TLS certificate we refuse. Null for failures that
 * may pass when the request is sent again (timeouts, dropped connections).
 */
export function unreachableReason(error: unknown): string | null {
  for (const each of chain(error)) {
    const { code, message } = each as { code?: unknown; message?: unknown };
    if (typeof code !== 'string') continue;
    if (code === 'ENOTALLOWED') return `is at an address that is not allowed (${typeof message === 'string' ? message : code})`;
    if (unreachableCodes.has(code)) return `cannot be reached (${code})`;
    if (tlsCodePattern.test(code)) return `presented a TLS certificate that was refused (${code})`;
  }
  return null;
}

/** True when the request ran out of time (exchange's `TimeoutError`, fetch's own timeouts, or `AbortSignal.timeout`). */
export function isTimeout(error: unknown): boolean {
  return chain(error).some((each) => {
    const { code, name } = each as { code?: unknown; name?: unknown };
    return name === 'TimeoutError' || (typeof code === 'string' && timeoutCodes.has(code));
  });
}

/** A short description of a transient failure for messages and logs (no stack). */
export function describeFailure(error: unknown): string {
  if (isTimeout(error)) return 'the request timed out';
  const codes = errorCodes(error);
  if (codes.length > 0) return `the connection failed (${[...new Set(codes)].join(', ')})`;
  return `the request failed (${error instanceof Error ? error.message : String(error)})`;
}
