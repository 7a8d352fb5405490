/**
 * Log messages a deployed alarm counts, through a metric filter on the function's log group
 * (lib/constructs/observability.ts): changing one's text silences its alarm, so both sides read it from here.
 */

/** A run left its job in quarantine. */
export const JOB_QUARANTINED_MESSAGE = 'Job quarantined';
