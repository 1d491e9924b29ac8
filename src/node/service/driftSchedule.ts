/**
 * The scheduled drift monitor of a running node (ADR 0087). The node may not import the
 * statistics (lifecycle/), so it runs a check it is given — `radiolens serve` composes it from
 * lifecycle/monitoring — every interval, and owns what a node must do with the answers: count
 * consecutive drifting runs per model version, raise an alert when drift persists (an error
 * log record, a `/health` field, and a webhook POST when configured), and say when it clears.
 * One drifting run is not an alert: a single window can drift by chance or by a one-off batch.
 */
import { describeError } from '../../foundation/core/index.js';
import { scrub, type NodeLogger } from './log.js';

/** One model version's verdict from one run of the check. */
export interface DriftCheckOutcome {
  /** id@version */
  readonly model: string;
  readonly drift: boolean;
  /** The features that drifted. */
  readonly features: readonly string[];
  readonly windowImages: number;
  /** Where the run's report lies, for the alert. */
  readonly report: string | null;
  /** Why the model was not checked (no reference, too few analyses), when it was not. */
  readonly note?: string;
}

export type DriftCheck = () => Promise<readonly DriftCheckOutcome[]>;

export interface DriftModelState {
  readonly drift: boolean;
  readonly consecutive: number;
  readonly alert: boolean;
  readonly features: readonly string[];
  readonly windowImages: number;
  readonly report: string | null;
  readonly note?: string;
  readonly checkedAt: string;
}

export interface DriftHealth {
  readonly intervalMinutes: number;
  readonly persistence: number;
  readonly lastRunAt: string | null;
  readonly lastError: string | null;
  readonly alerts: number;
  readonly models: Readonly<Record<string, DriftModelState>>;
}

export interface DriftScheduleOptions {
  readonly check: DriftCheck;
  readonly intervalMs: number;
  /** Consecutive drifting runs that make an alert. */
  readonly persistence: number;
  readonly webhook: string | null;
  readonly logger: NodeLogger;
  readonly now?: () => Date;
  /** The HTTP client for the webhook; node's fetch by default. */
  readonly post?: (url: string, body: string) => Promise<{ ok: boolean; status: number }>;
}

const defaultPost = async (url: string, body: string): Promise<{ ok: boolean; status: number }> => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { ok: response.ok, status: response.status };
};

export class DriftSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastRunAt: string | null = null;
  private lastError: string | null = null;
  private readonly models = new Map<string, DriftModelState>();

  constructor(private readonly options: DriftScheduleOptions) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.runNow(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Run the check once (also what the timer does); runs never overlap. */
  runNow(): Promise<void> {
    this.running ??= this.runOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  health(): DriftHealth {
    const models = Object.fromEntries(this.models);
    return {
      intervalMinutes: this.options.intervalMs / 60_000,
      persistence: this.options.persistence,
      lastRunAt: this.lastRunAt,
      lastError: this.lastError,
      alerts: [...this.models.values()].filter((m) => m.alert).length,
      models,
    };
  }

  private async runOnce(): Promise<void> {
    const { logger } = this.options;
    const now = (this.options.now ?? (() => new Date()))().toISOString();
    let outcomes: readonly DriftCheckOutcome[];
    try {
      outcomes = await this.options.check();
      this.lastError = null;
    } catch (error) {
      this.lastError = scrub(describeError(error));
      logger.error('drift-check-failed', { error: this.lastError });
      return;
    } finally {
      this.lastRunAt = now;
    }
    for (const outcome of outcomes) {
      const before = this.models.get(outcome.model);
      const consecutive = outcome.drift ? (before?.consecutive ?? 0) + 1 : 0;
      const alert = consecutive >= this.options.persistence;
      const state: DriftModelState = {
        drift: outcome.drift,
        consecutive,
        alert,
        features: outcome.features,
        windowImages: outcome.windowImages,
        report: outcome.report,
        ...(outcome.note === undefined ? {} : { note: outcome.note }),
        checkedAt: now,
      };
      this.models.set(outcome.model, state);
      const fields = {
        model: outcome.model,
        consecutive,
        features: outcome.features.join(', '),
        images: outcome.windowImages,
        report: outcome.report,
      };
      if (alert) {
        // Logged on every drifting run while the alert stands; the webhook only when it starts.
        logger.error('drift-alert', fields);
        if (before?.alert !== true) await this.notify('drift-alert', outcome, state);
      } else if (outcome.drift) {
        logger.warn('drift-detected', fields);
      } else {
        logger.info('drift-check', {
          model: outcome.model,
          images: outcome.windowImages,
          ...(outcome.note ? { note: scrub(outcome.note) } : {}),
        });
        if (before?.alert === true) {
          logger.info('drift-cleared', { model: outcome.model });
          await this.notify('drift-cleared', outcome, state);
        }
      }
    }
  }

  private async notify(
    event: 'drift-alert' | 'drift-cleared',
    outcome: DriftCheckOutcome,
    state: DriftModelState,
  ): Promise<void> {
    const url = this.options.webhook;
    if (url === null) return;
    const body = JSON.stringify({
      event,
      model: outcome.model,
      consecutiveRuns: state.consecutive,
      features: outcome.features,
      windowImages: outcome.windowImages,
      report: outcome.report,
      at: state.checkedAt,
    });
    try {
      const response = await (this.options.post ?? defaultPost)(url, body);
      if (!response.ok) {
        this.options.logger.warn('drift-webhook-failed', { alert: event, status: response.status });
      }
    } catch (error) {
      this.options.logger.warn('drift-webhook-failed', {
        alert: event,
        error: scrub(describeError(error)),
      });
    }
  }
}
