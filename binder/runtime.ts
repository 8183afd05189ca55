/**
 * The Node.js options the binder is meant to run with, in NODE_OPTIONS (all are allowed there).
 *
 * - `--v8-pool-size=1`: the binder waits on the network; it gains nothing from V8's pool of background
 *   threads, and each of them that ever allocates keeps a malloc arena of its own, which shows as resident
 *   memory the heap never accounts for.
 * - `--max-semi-space-size=4`: a young generation of 4 MB semi-spaces (16 MB by default on 64-bit).
 * - `--max-old-space-size=256`: V8 lets the old generation grow past what is live by a factor it picks
 *   from the heap's limit, up to 4 for the default limit of several GB, and only about 1.3 at 256 MB or
 *   less. Under the default, a burst of reconciles sometimes left 105 MB committed for 62 MB live, and the
 *   process at 233 MB. The binder's live heap is about 50-60 MB with 20,000 pods of which 1,000 ask for an
 *   EIP; a pod that asks for none costs a few hundred bytes, one that does a few kB, so 256 MB leaves room
 *   for clusters many times that size. Raise it for more than about 10,000 EIP pods.
 *
 * Measured by `make bench` (20,000 pods, 1,000 asking for an EIP) over several runs: RSS at the peak of
 * the burst 174-181 MB with these, 175-233 MB without the heap limit, 206-235 MB with Node's defaults.
 */
export const BINDER_NODE_OPTIONS: readonly string[] = [
  '--v8-pool-size=1',
  '--max-semi-space-size=4',
  '--max-old-space-size=256',
];

/**
 * The recommended options this process was not started with (from its command line or NODE_OPTIONS). An
 * option given with a value of its own counts as given: whoever set it chose that value.
 */
export function missingNodeOptions(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): string[] {
  const nameOf = (option: string): string => option.split('=')[0]!.replace(/_/g, '-');
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].map(nameOf));
  return BINDER_NODE_OPTIONS.filter((option) => !given.has(nameOf(option)));
}
