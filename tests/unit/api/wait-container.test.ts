/**
 * The wait container's contract, read from both sides: the container the webhook plans states what the
 * contract says it does, and the script accepts exactly the addresses the contract's check accepts.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALLOCATED_EIP_ADDRESS_ANNOTATION } from '../../../api/constants.js';
import { isIpv4Address, isWaitForEipContainer, waitTimeoutSeconds } from '../../../api/wait-container.js';
import { planPodMutation } from '../../../webhook/mutation/plan.js';
import type { ContainerJson } from '../../../webhook/mutation/pod.js';
import { waitForEipScript } from '../../../webhook/mutation/wait-script.js';
import { defaultPolicy, plannerInput } from '../webhook/admission-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'podeip-wait-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the wait container the webhook plans', () => {
  it('is recognised by the contract and states its timeout there', () => {
    const policy = defaultPolicy();
    policy.initContainer.timeoutSeconds = 95;
    const plan = planPodMutation(plannerInput('deployment-pod-auto.json'), policy);
    if (!('patch' in plan)) throw new Error(`expected a patch, got ${JSON.stringify(plan)}`);
    const op = plan.patch.find((o) => o.path.startsWith('/spec/initContainers'));
    const value = (op as { value?: unknown } | undefined)?.value;
    const container = (Array.isArray(value) ? value[0] : value) as ContainerJson;
    expect(isWaitForEipContainer(container)).toBe(true);
    expect(waitTimeoutSeconds(container)).toBe(95);
  });

  it('is told apart from a look-alike and from one without a stated timeout', () => {
    expect(isWaitForEipContainer({ command: ['sh', '-c', 'echo waiting'] })).toBe(false);
    expect(isWaitForEipContainer({ command: ['bash', '-c', waitForEipScript(scriptOptions('/f'))] })).toBe(false);
    expect(waitTimeoutSeconds({ command: ['sh', '-c', waitForEipScript(scriptOptions('/f'))] })).toBeUndefined();
    expect(waitTimeoutSeconds({ env: [{ name: 'PODEIP_WAIT_TIMEOUT_SECONDS', value: 'soon' }] })).toBeUndefined();
  });
});

function scriptOptions(annotationsFile: string) {
  return { annotationsFile, timeoutSeconds: 1, pollIntervalSeconds: 0.25 };
}

/** Exit code of the script under sh when the annotation holds `value`: 0 accepted, 1 gave up. */
function scriptExitCode(value: string, index: number): Promise<number | null> {
  const file = join(dir, `annotations-${index}`);
  writeFileSync(file, `${ALLOCATED_EIP_ADDRESS_ANNOTATION}=${JSON.stringify(value)}`);
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', waitForEipScript(scriptOptions(file))], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

describe('the address check', () => {
  const values = [
    '47.96.1.2',
    '0.0.0.0',
    '255.255.255.255',
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1..2.3',
    '1.2.3.4 ',
    'pending',
    '',
  ];

  it('accepts in the script exactly what the contract accepts', async () => {
    const codes = await Promise.all(values.map(scriptExitCode));
    const accepted = (code: number | null) => code === 0;
    expect(values.map((v, i) => [v, accepted(codes[i]!)])).toEqual(values.map((v) => [v, isIpv4Address(v)]));
    expect(values.filter(isIpv4Address)).toEqual(['47.96.1.2', '0.0.0.0', '255.255.255.255']);
  });
});
