/** `podeip sandbox`: the local Kubernetes and Alibaba Cloud stand-ins, in the foreground. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalImage } from '../../sandbox/kube/cluster/index.js';
import type { Command } from '../command.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../command.js';
import { LOG_LEVELS, type LogLevel } from '../../api/settings.js';
import { createLogger } from '../logger.js';
import { whenInterrupted } from '../signals.js';

/** An EIP that exists before anything runs, so deploy/examples/pod-static-eip.yaml works out of the box. */
/**
 * The image `podeip` as a local image, laid out as deploy/image lays it out: this checkout at /opt/podeip
 * (so the container reads it even when the checkout's own parents are private), ENTRYPOINT podeip, USER
 * 65532, WORKDIR /tmp.
 */
export function podeipLocalImage(): Record<string, LocalImage> {
  // The folder holding package.json, from this file in cli/ (the tests) or in dist/cli/.
  let checkout = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(checkout, 'package.json')) && dirname(checkout) !== checkout) checkout = dirname(checkout);
  return {
    podeip: {
      entrypoint: [process.execPath, '/opt/podeip/dist/cli/main.js'],
      user: 65532,
      workingDir: '/tmp',
      files: [{ from: checkout, at: '/opt/podeip' }],
    },
  };
}

export const DEMO_STATIC_EIP = 'eip-demostatic01';

function wholeNumber(
  value: string | boolean | undefined,
  name: string,
  min: number,
  max: number,
): number | string | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= min && n <= max ? n : `--${name} must be a whole number from ${min} to ${max}`;
}

export const sandboxCommand: Command = {
  name: 'sandbox',
  details: [
    'Writes DIR/kubeconfig (HTTPS, its own CA, a bearer token) and DIR/cloud.json (endpoint, protocol, regionId,',
    `vpcId, accessKeyId, accessKeySecret), then prints a line containing "sandbox ready". The PodEIP CRD is installed`,
    `and the EIP ${DEMO_STATIC_EIP} exists, for deploy/examples. Nodes give pods IPs on the cloud stand-in's ENIs.`,
  ].join('\n'),
  options: {
    dir: { type: 'string', description: 'where to write kubeconfig and cloud.json (default .sandbox)' },
    nodes: { type: 'string', description: 'number of nodes (default 2)' },
    network: { type: 'string', description: 'shared-eni (default, Terway ENI multi-IP), exclusive-eni or overlay' },
    'kube-port': { type: 'string', description: 'port of the Kubernetes API (default: a free one)' },
    'cloud-port': { type: 'string', description: 'port of the Alibaba Cloud API (default: a free one)' },
    seed: { type: 'string', description: 'seed of the cloud stand-in (addresses, ids, injected faults)' },
    'log-level': { type: 'string', description: 'log level of the stand-ins (default warn)' },
  },
  async run(values) {
    const problems: string[] = [];
    const take = (v: number | string | undefined): number | undefined =>
      typeof v === 'string' ? (problems.push(v), undefined) : v;
    const nodes = take(wholeNumber(values.nodes, 'nodes', 1, 200));
    const kubePort = take(wholeNumber(values['kube-port'], 'kube-port', 0, 65535));
    const cloudPort = take(wholeNumber(values['cloud-port'], 'cloud-port', 0, 65535));
    const seed = take(wholeNumber(values.seed, 'seed', 0, 2 ** 31 - 1));
    const network = values.network ?? 'shared-eni';
    if (network !== 'shared-eni' && network !== 'exclusive-eni' && network !== 'overlay') {
      problems.push('--network must be shared-eni, exclusive-eni or overlay');
    }
    const level = (values['log-level'] ?? 'warn') as LogLevel;
    if (!LOG_LEVELS.includes(level))
      problems.push('--log-level must be fatal, error, warn, info, debug, trace or silent');
    if (problems.length > 0) {
      process.stderr.write(`podeip sandbox: invalid options:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
      return EXIT_USAGE;
    }
    const logger = createLogger({ level, name: 'podeip-sandbox' });
    const dir = resolve(typeof values.dir === 'string' ? values.dir : '.sandbox');
    // Loaded here, not at the top: every `podeip` command, the binder included, loads this module.
    const { startSandbox } = await import('../../sandbox/index.js');
    const { processIsolationProblem } = await import('../../sandbox/kube/cluster/index.js');
    // podeip's own image runs as processes where this machine can, so `kubectl apply -k deploy/…` brings it up.
    const noProcesses = processIsolationProblem();
    let sandbox;
    try {
      sandbox = await startSandbox({
        kube: { ...(kubePort === undefined ? {} : { port: kubePort }) },
        cloud: { ...(cloudPort === undefined ? {} : { port: cloudPort }), ...(seed === undefined ? {} : { seed }) },
        cluster: {
          network: network as 'shared-eni',
          ...(nodes === undefined ? {} : { nodes }),
          ...(noProcesses === undefined
            ? {
                processes: {
                  images: podeipLocalImage(),
                  onOutput: (_pod, _c, line) => void process.stderr.write(`${line}\n`),
                },
              }
            : {}),
        },
        logger,
      });
    } catch (err) {
      logger.fatal({ err }, 'sandbox failed to start');
      return EXIT_FAILED;
    }
    sandbox.cloud.controls.createEip({ allocationId: DEMO_STATIC_EIP, name: 'podeip demo static EIP' });
    const files = sandbox.writeFiles(dir);
    const out = (line: string): void => void process.stdout.write(`${line}\n`);
    out(`Kubernetes API  ${sandbox.kube.url}  (${sandbox.cluster.nodes().length} nodes, ${network})`);
    out(`Alibaba Cloud   http://${sandbox.cloud.endpoint}  region ${sandbox.cloud.regionId}, ${sandbox.cloud.vpcId}`);
    out(`EIP inventory   ${sandbox.cloud.inventoryUrl}`);
    out(`files           ${files.kubeconfig}  ${files.cloudJson}`);
    out(
      noProcesses === undefined
        ? 'podeip image    podeip:* runs as processes from this checkout (kubectl apply -k deploy/overlays/access-key)'
        : `podeip image    simulated, like every image: ${noProcesses}`,
    );
    out(`try             kubectl --kubeconfig ${files.kubeconfig} get nodes,pods -A`);
    out('sandbox ready (Ctrl-C to stop)');
    await whenInterrupted();
    await sandbox.close();
    return EXIT_OK;
  },
};
