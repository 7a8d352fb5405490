/**
 * One line for a failed Lambda invocation of the local stack, as CloudWatch shows one from AWS: the function, the
 * error's type, message and stack frames, and its cause's type and message. Nothing else of the error is printed:
 * its other properties can hold request details (headers, bodies) that must not reach a log.
 */
export function describeInvocationFailure(functionName: string, error: unknown): string {
  if (!(error instanceof Error)) return `${functionName} failed: ${String(error).slice(0, 500)}`;
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  const cause = error.cause instanceof Error ? `\n  caused by ${error.cause.name}: ${error.cause.message}` : '';
  return [`${functionName} failed: ${error.name}: ${error.message}`, ...frames].join('\n') + cause;
}
