/** What the kubelet hands the pod-sandbox shim: the pod's address and the routes between pod and host. */
export interface PodSandboxSpec {
  podIp: string;
  /** Host services the pod's processes reach: listened on at host:port inside the pod, passed to `socket`. */
  egress: { host: string; port: number; socket: string }[];
  /** Container ports reached from the host through `socket`, passed to podIp:port inside the pod. */
  ingress: { port: number; socket: string }[];
}
