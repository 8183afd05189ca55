/** Shared by the webhook integration tests: the AdmissionReview fixtures, the default policy, a log capture. */
import { jest } from '@jest/globals';
import * as cookieModule from 'cookie';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import type { MutationPolicy, WebhookConfig } from '../../../webhook/config/types.js';

/*
 * app.inject() loads light-my-request, which require()s the ESM-only `cookie` 2. Node 20 can do that, but
 * Jest's own CommonJS loader cannot before Node 24.9, so Jest is handed the real module for that require.
 * Nothing is faked: it is the same package, loaded through import instead of require.
 */
jest.mock('cookie', () => cookieModule);

const fixturesDir = new URL('../../fixtures/', import.meta.url);

/** A review from tests/fixtures/admission, parsed fresh on each call so a test may change it. */
export function admissionFixture(name: string): {
  apiVersion: string;
  kind: string;
  request: Record<string, unknown> & { uid: string };
} {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`admission/${name}`, fixturesDir)), 'utf8'));
}

/** The configuration every field of which is a schema default (the golden file of the config tests). */
export function defaultWebhookConfig(): WebhookConfig {
  return JSON.parse(readFileSync(fileURLToPath(new URL('config/webhook-defaults.golden.json', fixturesDir)), 'utf8'));
}

export function defaultPolicy(): MutationPolicy {
  return defaultWebhookConfig().mutation;
}

export interface CapturedLogs {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first line, already written or still to come, for which `match` is true. */
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** A real pino logger whose JSON lines are kept in memory. */
export function captureLogs(level: pino.LevelWithSilent = 'debug'): CapturedLogs {
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  const logger = pino(
    { level },
    {
      write(line: string) {
        lines.push(JSON.parse(line));
        for (const wake of waiters) wake();
      },
    },
  );
  const waitFor: CapturedLogs['waitFor'] = (match, timeoutMs = 5000) =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = lines.find(match);
        if (found === undefined) return false;
        waiters.delete(wake);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const wake = (): void => void check();
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(
          new Error(
            `no matching log line within ${timeoutMs} ms; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`,
          ),
        );
      }, timeoutMs);
      if (!check()) waiters.add(wake);
    });
  return { logger, lines, waitFor };
}
