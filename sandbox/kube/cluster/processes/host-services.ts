/**
 * The host's side of the pods' egress: a unix socket per host service (the API server, the cloud
 * stand-in), each connection passed on to the service's TCP address. Pod sandboxes listen on the service's
 * address inside the pod and connect here, so a pod reaches the host only where the kubelet lets it.
 */
import { connect, createServer, type Server } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { joinSockets } from './join-sockets.js';
import type { PodSandboxSpec } from './sandbox-spec.js';

export interface HostServiceRoute {
  /** The address pods dial. */
  host: string;
  port: number;
  /** Where the host serves it. */
  to: { host: string; port: number };
}

export interface HostServices {
  /** What each pod sandbox listens on, and the socket it passes connections to. */
  routes: PodSandboxSpec['egress'];
  close(): Promise<void>;
}

export async function openHostServices(dir: string, routes: HostServiceRoute[]): Promise<HostServices> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const servers: Server[] = [];
  const egress: PodSandboxSpec['egress'] = [];
  for (const route of routes) {
    const socket = join(dir, `${route.host}-${route.port}.sock`);
    const server = createServer((inbound) => joinSockets(inbound, connect(route.to)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
    servers.push(server);
    egress.push({ host: route.host, port: route.port, socket });
  }
  return {
    routes: egress,
    close: () => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))).then(() => {}),
  };
}
