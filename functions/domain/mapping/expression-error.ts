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
