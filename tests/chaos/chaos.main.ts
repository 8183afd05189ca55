/**
 * `make chaos`: the long chaos run. At least 200 EIP pods created over the run (Deployments rolled and scaled,
 * StatefulSets with Never and a TTL, a static-EIP rollout, bare pods), the binder killed with SIGKILL 20
 * times, 10% of cloud calls failing; prints what it found at the end and exits 1 on any problem.
 */
import { fileURLToPath } from 'node:url';
import { runChaos } from './chaos-run.js';

const cli = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));
const started = Date.now();
const result = await runChaos({
  cli,
  pods: 320,
  kills: 20,
  minPodsCreated: 200,
  failureRate: 0.1,
  convergeMs: 180_000,
  seed: Number(process.env.CHAOS_SEED ?? 20261204),
  log: (line) => process.stdout.write(`${line}\n`),
});
process.stdout.write(
  `chaos: ${result.podsCreated} pods created, ${result.kills} binder SIGKILLs, ${result.cloudCallsFailed} of ${result.cloudCalls} cloud calls ` +
    `failed, ${((Date.now() - started) / 1000).toFixed(0)} s; at the end: ${result.orphanEips} orphan EIPs, ` +
    `${result.strayAssociations} stray associations, ${result.unreadyPods} of ${result.livePods} EIP pods not Ready\n`,
);
for (const problem of result.problems) process.stdout.write(`  ${problem}\n`);
const tooFew = result.podsCreated < 200;
if (tooFew)
  process.stdout.write(`fewer than 200 EIP pods were created (${result.podsCreated}): not the run asked for\n`);
process.exitCode = result.problems.length === 0 && !tooFew ? 0 : 1;
