/**
 * The controllers' view of change: a store watch that is started again whenever it ends (an ERROR event,
 * a watch that cannot start), and a periodic resync that hands every object to the controller anyway, so
 * a missed event costs at most one resync period.
 */
import type { Logger } from 'pino';
import type { ClusterStore, KubeObject, ResourceType, WatchEvent } from '../types.js';

export interface ObjectChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

const RESTART_BASE_MS = 20;
const RESTART_MAX_MS = 2000;

/**
 * Watches `type` from "now" (the current state arrives as ADDED first, so a restart re-delivers everything a
 * level-triggered controller needs) until stopped.
 */
export function keepWatching(
  store: ClusterStore,
  type: ResourceType,
  onChange: (change: ObjectChange) => void,
  logger: Logger,
): { stop(): void } {
  let handle: { stop(): void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failures = 0;

  const restartLater = (): void => {
    if (stopped || timer !== undefined) return;
    handle?.stop();
    handle = undefined;
    failures += 1;
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (failures - 1));
    timer = setTimeout(() => {
      timer = undefined;
      start();
    }, delay);
    timer.unref();
  };

  const deliver = (event: WatchEvent): void => {
    if (stopped) return;
    if (event.type === 'ERROR') {
      logger.warn({ resource: type.plural, status: event.object }, 'watch ended with an error; starting it again');
      restartLater();
      return;
    }
    if (event.type === 'BOOKMARK') return;
    failures = 0;
    try {
      onChange({ type: event.type, object: event.object as KubeObject });
    } catch (error) {
      logger.error({ err: error, resource: type.plural }, 'watch handler failed');
    }
  };

  function start(): void {
    if (stopped) return;
    try {
      handle = store.watch(type, {}, deliver);
    } catch (error) {
      logger.warn({ err: error, resource: type.plural }, 'watch could not start; trying again');
      restartLater();
    }
  }

  start();
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      handle?.stop();
    },
  };
}

/** Calls `resync` every `intervalMs`, logging (never throwing) what it throws. */
export function everyInterval(intervalMs: number, resync: () => void, logger: Logger, what: string): { stop(): void } {
  const timer = setInterval(() => {
    try {
      resync();
    } catch (error) {
      logger.error({ err: error, what }, 'resync failed');
    }
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
