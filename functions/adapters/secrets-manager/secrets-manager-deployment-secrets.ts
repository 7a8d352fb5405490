import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { DeploymentSecrets } from '../../ports/deployment-secrets.ts';
import { ExpiringMemo } from '../cache/expiring-memo.ts';

/** How long a read value is reused: long enough to spare Secrets Manager on every tick, short enough for rotation. */
export const DEFAULT_SECRET_TTL_MS = 5 * 60_000;

export interface SecretsManagerDeploymentSecretsOptions {
  client: SecretsManagerClient;
  /** Reuse a value for this long after it was asked for; default DEFAULT_SECRET_TTL_MS. */
  ttlMs?: number;
  clock?: Clock;
}

/**
 * Secrets Manager GetSecretValue, memoised per secret for a TTL. Concurrent reads share one call; a failed call is
 * forgotten at once, so one throttle or network blip costs one tick, not the container's lifetime, and a rotated
 * secret is picked up within the TTL.
 */
export class SecretsManagerDeploymentSecrets implements DeploymentSecrets {
  private readonly cached: ExpiringMemo<string>;
  private readonly ttlMs: number;

  constructor(private readonly options: SecretsManagerDeploymentSecretsOptions) {
    this.ttlMs = options.ttlMs ?? DEFAULT_SECRET_TTL_MS;
    const clock = options.clock ?? systemClock;
    this.cached = new ExpiringMemo({ maxEntries: 16, now: () => clock.now().getTime() });
  }

  read(secretId: string): Promise<string> {
    return this.cached.get(secretId, async () => {
      const askedAt = this.cached.now();
      return { value: await this.fetch(secretId), expiresAt: askedAt + this.ttlMs };
    });
  }

  private async fetch(secretId: string): Promise<string> {
    const { SecretString } = await this.options.client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (SecretString === undefined) throw new Error(`Secret ${secretId} has no SecretString (a binary secret cannot be used)`);
    return SecretString;
  }
}
