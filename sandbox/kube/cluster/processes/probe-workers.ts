/**
 * A container's readiness and liveness probes, each on its own schedule as the kubelet's prober workers
 * run them: initialDelaySeconds, then every periodSeconds; successThreshold passes make it ready,
 * failureThreshold failures in a row make it unready or, for liveness, get it restarted. Every failure is
 * reported (the kubelet's Unhealthy Event).
 */
import { isRecord } from '../../../../api/is-record.js';
import type { Json } from '../object-facts.js';
import { runProbe, type ProbeTarget } from './probes.js';

export interface ProbeHooks {
  target(): ProbeTarget;
  /** False once the container exits or is being stopped: no more probes. */
  active(): boolean;
  readinessChanged(ready: boolean): void;
  failed(kind: 'Readiness' | 'Liveness', message: string): void;
  livenessExhausted(): void;
}

function seconds(value: unknown, fallback: number): number {
  return (typeof value === 'number' ? value : fallback) * 1000;
}

/**
 * Starts the probes; their timers go into `timers` so that the caller can cancel them. A container with no
 * readiness probe is ready as soon as it runs.
 */
export function startProbeWorkers(
  container: Json,
  readinessCapMs: number,
  timers: Set<NodeJS.Timeout>,
  hooks: ProbeHooks,
): { initiallyReady: boolean } {
  const readiness = isRecord(container.readinessProbe) ? container.readinessProbe : undefined;
  const liveness = isRecord(container.livenessProbe) ? container.livenessProbe : undefined;
  let ready = readiness === undefined;
  const worker = (kind: 'Readiness' | 'Liveness', probe: Json): void => {
    let successes = 0;
    let failures = 0;
    // Only readiness is hurried: a liveness probe at its real period gives a slow start its real allowance.
    const cap = kind === 'Readiness' ? readinessCapMs : Infinity;
    const period = Math.min(seconds(probe.periodSeconds, 10), cap);
    const needed = typeof probe.successThreshold === 'number' ? probe.successThreshold : 1;
    const threshold = typeof probe.failureThreshold === 'number' ? probe.failureThreshold : 3;
    const schedule = (ms: number): void => {
      if (!hooks.active()) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        void tick();
      }, ms);
      timers.add(timer);
    };
    const tick = async (): Promise<void> => {
      const result = await runProbe(probe, container, hooks.target());
      if (!hooks.active()) return;
      if (result.ok) {
        successes += 1;
        failures = 0;
        if (kind === 'Readiness' && !ready && successes >= needed) {
          ready = true;
          hooks.readinessChanged(true);
        }
      } else {
        failures += 1;
        successes = 0;
        hooks.failed(kind, result.message);
        if (failures >= threshold && kind === 'Readiness' && ready) {
          ready = false;
          hooks.readinessChanged(false);
        }
        if (failures >= threshold && kind === 'Liveness') {
          hooks.livenessExhausted();
          return;
        }
      }
      schedule(period);
    };
    schedule(Math.min(seconds(probe.initialDelaySeconds, 0), cap));
  };
  if (readiness !== undefined) worker('Readiness', readiness);
  if (liveness !== undefined) worker('Liveness', liveness);
  return { initiallyReady: readiness === undefined };
}
