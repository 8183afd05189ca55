/** Local stand-ins for the Kubernetes API and the Alibaba Cloud API, for the demo and the tests. */
export { startSandbox, type Sandbox, type SandboxOptions, type CloudConnection } from './sandbox.js';
