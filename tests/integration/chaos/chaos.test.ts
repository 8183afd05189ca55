/**
 * The short chaos run of `make test` (the long one is `make chaos`): EIP pods of every kind created,
 * deleted and rolled while the binder process is killed with SIGKILL and 10% of cloud calls fail; then
 * nothing podeip allocated is left unaccounted for, nothing is bound to an IP no live pod holds, and every
 * live EIP pod is Ready with its EIP on its IP.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runChaos } from '../../chaos/chaos-run.js';

const cli = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));

describe('the release lifecycle under chaos (short run)', () => {
  it('converges with no leak, no stray binding and every EIP pod Ready', async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run "make build" first (make test does)`);
    const result = await runChaos({ cli, pods: 40, kills: 5, failureRate: 0.1, convergeMs: 90_000 });
    process.stdout.write(
      `chaos (short): ${result.podsCreated} pods created, ${result.kills} binder SIGKILLs, ` +
        `${result.cloudCallsFailed} of ${result.cloudCalls} cloud calls failed; at the end: ${result.orphanEips} orphan EIPs, ` +
        `${result.strayAssociations} stray associations, ${result.unreadyPods} of ${result.livePods} EIP pods not Ready\n`,
    );
    expect(result.problems).toEqual([]);
    expect(result.kills).toBe(5);
    expect(result.cloudCallsFailed).toBeGreaterThan(0);
  }, 240_000);
});
