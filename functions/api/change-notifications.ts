import { idHeaders, idsOf, type ApiEvent, type ApiResult } from '../http/graph-handler.ts';
import { renderServiceError } from '../http/graph-error.ts';
import { BadRequestError, ForbiddenError } from '../errors/service-errors.ts';
import { getNotificationServices } from '../config/notification-services.ts';
import { logger } from '../observability/logger.ts';
import { changeNotificationCollectionSchema } from '../schemas/change-notification.ts';

/** Graph's validation tokens are short; a longer one is not Graph's. */
const MAX_VALIDATION_TOKEN = 1024;
const MAX_NOTIFICATION_BODY = 1024 * 1024;

/**
 * POST /notifications: Graph's webhook, called without our token (see routes.ts). It answers the validation
 * handshake with the decoded token as text/plain, and a batch of notifications with 202 once each notified job was
 * asked to run: the run itself goes on in the worker. Each notification must carry its subscription's clientState.
 */
export const handler = async (event: ApiEvent): Promise<ApiResult> => {
  const ids = idsOf(event);
  const refuse = (error: BadRequestError | ForbiddenError) => renderServiceError(error, ids.requestId, ids.clientRequestId);
  const validationToken = event.queryStringParameters?.validationToken;
  if (validationToken !== undefined) {
    if (validationToken.length === 0 || validationToken.length > MAX_VALIDATION_TOKEN) return refuse(new BadRequestError('Invalid validationToken.'));
    return { statusCode: 200, headers: { 'content-type': 'text/plain', 'x-content-type-options': 'nosniff', ...idHeaders(ids) }, body: validationToken };
  }
  const text = event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (text.length > MAX_NOTIFICATION_BODY) return refuse(new BadRequestError('The notification batch is too large.'));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return refuse(new BadRequestError('The body is not a changeNotificationCollection.'));
  }
  const parsed = changeNotificationCollectionSchema.safeParse(json);
  if (!parsed.success) return refuse(new BadRequestError('The body is not a changeNotificationCollection.'));
  const received = await getNotificationServices().receive(parsed.data.value);
  if (received.refused > 0) logger.warn('Change notifications refused (unknown subscription or wrong clientState)', { ...received });
  if (received.accepted === 0) return refuse(new ForbiddenError('No notification of the batch carries a known subscription and its clientState.'));
  return { statusCode: 202, headers: idHeaders(ids) };
};
