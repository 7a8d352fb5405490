/** A mapping expression that cannot be parsed or evaluated; `position` is the 0-based offset of a parse error. */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly position: number | null = null,
  ) {
    super(position === null ? message : `${message} (at position ${position})`);
    this.name = 'ExpressionError';
  }
}

/**
 * An expression or pattern beyond what the service runs: a limit exceeded, or a regular expression the linear-time
 * engine cannot run. A request carrying one is refused (400), where a plain ExpressionError is a parse or
 * evaluation result; the worker reports it for the object like any ExpressionError.
 */
export class UnsupportedExpressionError extends ExpressionError {
  constructor(message: string, position: number | null = null) {
    super(message, position);
    this.name = 'UnsupportedExpressionError';
  }
}
