/**
 * The Node.js options the binder is meant to run with, in NODE_OPTIONS (both are allowed there).
 *
 * The binder waits on the network; it gains nothing from V8's pool of background threads, and each of
 * them that ever allocates keeps a malloc arena of its own, which shows as resident memory the heap never
 * accounts for. A young generation of 4 MB semi-spaces (16 MB by default on 64-bit) bounds how far the
 * heap's committed size swings in a burst of reconciles. Measured by `make bench` with 20,000 pods of
 * which 1,000 ask for an EIP, over several runs: RSS at the peak of the burst 192-217 MB with these and
 * 221-233 MB without; idle 30 s later 128-147 MB with these and 161-181 MB without.
 */
export const BINDER_NODE_OPTIONS: readonly string[] = ['--v8-pool-size=1', '--max-semi-space-size=4'];

/** The recommended options this process was not started with (from its command line or NODE_OPTIONS). */
export function missingNodeOptions(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].map((option) => option.replace(/_/g, '-')));
  return BINDER_NODE_OPTIONS.filter((option) => !given.has(option));
}
