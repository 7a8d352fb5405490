/**
 * An outside system (the directory or the target) asks us to slow down, or keeps failing briefly (429, 5xx,
 * timeouts after the retries one request may make). It says nothing about the object at hand: the run pauses
 * until `retryAt` and carries on from where it stopped. Nothing is escrowed, nothing is quarantined.
 */
export class ThrottledError extends Error {
  constructor(
    message: string,
    readonly system: 'source' | 'target',
    readonly retryAt: Date,
  ) {
    super(message);
    this.name = 'ThrottledError';
  }
}
