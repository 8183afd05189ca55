/**
 * The process that holds a sandbox pod's network namespace, as the pause container does on a node. The
 * kubelet starts it as `unshare --net -- setpriv --pdeathsig SIGTERM -- node pod-sandbox-shim.js SPEC`, so it
 * dies with the kubelet and takes the namespace with it. Inside, it gives loopback the pod's IP (the address
 * the pod's processes see as theirs) and the addresses of host services, then joins the namespace to the host
 * through unix sockets, the only thing both sides can reach:
 * - egress: it listens on each host service's address inside the pod (10.96.0.1:443 for the API server, the
 *   cloud stand-in's loopback port) and passes every connection to the kubelet's socket for that service;
 * - ingress: it listens on a socket per container port, on the host's filesystem, and passes every
 *   connection to podIP:port inside, which is how Services and probes reach the pod's processes.
 * It prints one line, `ready`, once everything listens; the kubelet starts no container before.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { joinSockets } from './join-sockets.js';
import type { PodSandboxSpec } from './sandbox-spec.js';

function listen(server: Server, target: { host: string; port: number } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(target, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as PodSandboxSpec;
  const addresses = new Set([spec.podIp, ...spec.egress.map((e) => e.host)].filter((a) => !a.startsWith('127.')));
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  for (const address of addresses) execFileSync('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo']);

  const servers: Server[] = [];
  for (const route of spec.egress) {
    const server = createServer((inside) => joinSockets(inside, connect({ path: route.socket })));
    servers.push(server);
    await listen(server, { host: route.host, port: route.port });
  }
  for (const route of spec.ingress) {
    rmSync(route.socket, { force: true });
    const server = createServer((outside) => joinSockets(outside, connect({ host: spec.podIp, port: route.port })));
    servers.push(server);
    await listen(server, { path: route.socket });
  }
  const stop = (): void => {
    for (const server of servers) server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop).on('SIGINT', stop);
  process.stdout.write('ready\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`pod sandbox: ${(error as Error).message}\n`);
  process.exit(1);
});
