import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { JOB_QUARANTINED_MESSAGE } from '../../functions/observability/alarmed-messages.ts';
import type { JobsApi } from './jobs-api.ts';
import type { SyncWorker } from './sync-worker.ts';

/** Namespace of the metrics the stack derives from the functions' logs. */
export const metricsNamespace = 'GraphSyncJobs';

/**
 * Counts the worker's log lines for runs that leave their job in quarantine (value 1 each, unit Count), by a metric
 * filter on its log group: the line is logged anyway, so the count costs the worker no code and no extra output.
 */
export const jobQuarantinedMetricName = 'JobQuarantined';

/** Props of {@link Observability}. */
export interface ObservabilityProps {
  api: JobsApi;
  sync: SyncWorker;
}

/**
 * The alarms an operator acts on. Errors of the API functions are covered by the API's 5xx alarm (API Gateway turns
 * a failed or timed-out invocation into a 5xx, and the handlers map unknown errors to 500); the worker has no
 * caller, so its errors get their own alarm. Throttles are alarmed per function because a throttled tick or request
 * is lost or delayed silently. Alarms carry no actions: subscribe a topic or a chat channel to them after deploy.
 */
export class Observability extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const fiveMinutes = Duration.minutes(5);

    this.alarm('ApiServerErrors', 'The API answered 5xx', props.api.httpApi.metricServerError({ period: fiveMinutes }));

    this.alarm('WorkerErrors', 'A sync run failed outside its own error handling', props.sync.worker.function.metricErrors({ period: fiveMinutes }));

    const throttled = [...props.api.functions.entries(), ['worker', props.sync.worker] as const];
    for (const [name, fn] of throttled) {
      this.alarm(`Throttles-${name}`, `Lambda throttled ${name}`, fn.function.metricThrottles({ period: fiveMinutes }));
    }

    this.alarm(
      'SchedulerDeadLetters',
      'EventBridge Scheduler could not deliver ticks to the sync worker (messages in its dead-letter queue)',
      props.sync.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
    );

    this.alarm(
      'JobsQuarantined',
      'A synchronization job is in quarantine (its target keeps failing); see the job status for the reason',
      new logs.MetricFilter(this, 'JobQuarantinedLines', {
        logGroup: props.sync.worker.logGroup,
        filterPattern: logs.FilterPattern.stringValue('$.message', '=', JOB_QUARANTINED_MESSAGE),
        metricNamespace: metricsNamespace,
        metricName: jobQuarantinedMetricName,
        metricValue: '1',
        unit: cloudwatch.Unit.COUNT,
      }).metric({ statistic: 'Sum', period: Duration.hours(1) }),
    );
  }

  private alarm(id: string, description: string, metric: cloudwatch.IMetric): void {
    this.alarms.push(
      new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
