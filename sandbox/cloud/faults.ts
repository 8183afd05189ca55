/**
 * Fault injection: which calls fail and how, drawn from a seeded generator so a seed repeats a run.
 */
import type { Prng } from './prng.js';
import type { CloudFaults, TransportFaultCode } from './types.js';

const DEFAULT_FAILURE_CODES = ['InternalError', 'ServiceUnavailable'];
const TRANSPORT_FAULTS: readonly string[] = ['ConnectionReset', 'BadGateway'] satisfies TransportFaultCode[];

export function isTransportFault(code: string): code is TransportFaultCode {
  return TRANSPORT_FAULTS.includes(code);
}

export class FaultInjector {
  private faults: CloudFaults = {};

  constructor(private readonly random: Prng) {}

  set(faults: CloudFaults): void {
    for (const [name, rate] of [
      ['failureRate', faults.failureRate],
      ['failedTransitionRate', faults.failedTransitionRate],
    ] as const) {
      if (rate !== undefined && !(rate >= 0 && rate <= 1))
        throw new Error(`setFaults: ${name} must be within 0–1, got ${rate}`);
    }
    if (faults.latencyMs !== undefined && !(faults.latencyMs >= 0))
      throw new Error(`setFaults: latencyMs must be >= 0, got ${faults.latencyMs}`);
    if (faults.codes !== undefined && faults.codes.length === 0)
      throw new Error('setFaults: codes, when given, must name at least one code');
    this.faults = structuredClone(faults);
  }

  get stickTransitions(): boolean {
    return this.faults.stickTransitions === true;
  }

  get failAfterEffect(): boolean {
    return this.faults.failAfterEffect === true;
  }

  private applies(action: string): boolean {
    return this.faults.actions === undefined || this.faults.actions.includes(action);
  }

  /** The code this call fails with, or undefined. Draws only when a failure rate is set, to keep sequences stable. */
  drawFailure(action: string): string | undefined {
    const rate = this.faults.failureRate ?? 0;
    if (rate <= 0 || !this.applies(action)) return undefined;
    if (this.random.next() >= rate) return undefined;
    const codes = this.faults.codes ?? DEFAULT_FAILURE_CODES;
    return codes[this.random.below(codes.length)];
  }

  latencyFor(action: string): number {
    return this.applies(action) ? (this.faults.latencyMs ?? 0) : 0;
  }

  /** Whether an association or unassociation about to settle ends back where it started. */
  drawFailedTransition(): boolean {
    const rate = this.faults.failedTransitionRate ?? 0;
    return rate > 0 && this.random.next() < rate;
  }
}
