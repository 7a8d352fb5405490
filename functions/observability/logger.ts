import { Logger } from '@aws-lambda-powertools/logger';

/** Structured JSON logs. Secrets never go to a log line: log ids and outcomes, never bodies or credentials. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'graph-sync-jobs' });
