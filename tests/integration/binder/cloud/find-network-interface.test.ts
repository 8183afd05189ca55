/**
 * Pod IP → ENI: a secondary IP (Terway shared mode), an exclusive ENI's primary IP, a node's own NIC, an
 * unknown IP; and paging through an answer that lists other ENIs first.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAlibabaEipCloud } from '../../../../binder/cloud/alibaba-eip-cloud.js';
import type { EipCloud } from '../../../../binder/cloud/eip-cloud.js';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import { callCount, cloudFor, podNetwork, startFastSandbox } from './support.js';

let sandbox: CloudSandbox;
let cloud: EipCloud;

beforeAll(async () => {
  sandbox = await startFastSandbox();
  cloud = cloudFor(sandbox);
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.controls.resetCallCounts());

describe('findNetworkInterface against the stand-in', () => {
  it('finds a secondary IP on a secondary ENI with one call', async () => {
    const { eniId, podIp } = podNetwork(sandbox, 'i-node0001');
    expect(await cloud.findNetworkInterface(podIp)).toEqual({
      networkInterfaceId: eniId,
      type: 'Secondary',
      instanceId: 'i-node0001',
      isPrimaryIp: false,
      privateIp: podIp,
    });
    expect(callCount(sandbox, 'DescribeNetworkInterfaces')).toEqual({ ok: 1, failed: 0 });
  });

  it('finds an exclusive ENI by its primary IP, after the secondary-IP query comes back empty', async () => {
    const eni = sandbox.controls.createNetworkInterface({ type: 'Secondary', instanceId: 'i-node0002' });
    expect(await cloud.findNetworkInterface(eni.primaryIpAddress)).toEqual({
      networkInterfaceId: eni.networkInterfaceId,
      type: 'Secondary',
      instanceId: 'i-node0002',
      isPrimaryIp: true,
      privateIp: eni.primaryIpAddress,
    });
    expect(callCount(sandbox, 'DescribeNetworkInterfaces')).toEqual({ ok: 2, failed: 0 });
  });

  it("reports a node's Primary ENI as such, for its primary and its secondary IPs", async () => {
    const node = sandbox.controls.createNetworkInterface({ type: 'Primary', instanceId: 'i-node0003' });
    const secondary = sandbox.controls.assignPrivateIpAddress(node.networkInterfaceId);
    expect(await cloud.findNetworkInterface(node.primaryIpAddress)).toMatchObject({
      networkInterfaceId: node.networkInterfaceId,
      type: 'Primary',
      isPrimaryIp: true,
    });
    expect(await cloud.findNetworkInterface(secondary)).toMatchObject({
      networkInterfaceId: node.networkInterfaceId,
      type: 'Primary',
      isPrimaryIp: false,
    });
  });

  it('looks up the IPs asked for at the same time in one call, across ENIs, and answers each its own', async () => {
    const first = podNetwork(sandbox, 'i-node0004');
    const second = podNetwork(sandbox, 'i-node0005');
    const more = Array.from({ length: 3 }, () => sandbox.controls.assignPrivateIpAddress(first.eniId));
    const exclusive = sandbox.controls.createNetworkInterface({ type: 'Secondary', instanceId: 'i-node0006' });
    sandbox.controls.resetCallCounts();
    const found = await Promise.all(
      [first.podIp, second.podIp, ...more, exclusive.primaryIpAddress, '10.99.99.98'].map((ip) =>
        cloud.findNetworkInterface(ip),
      ),
    );
    expect(found.map((match) => match?.networkInterfaceId)).toEqual([
      first.eniId,
      second.eniId,
      first.eniId,
      first.eniId,
      first.eniId,
      exclusive.networkInterfaceId,
      undefined,
    ]);
    expect(found.map((match) => match?.privateIp)).toEqual([
      first.podIp,
      second.podIp,
      ...more,
      exclusive.primaryIpAddress,
      undefined,
    ]);
    // One shared call for the seven secondary lookups, then one primary-IP call for each of the two not found.
    expect(callCount(sandbox, 'DescribeNetworkInterfaces')).toEqual({ ok: 3, failed: 0 });
  });

  it('answers undefined for an IP no ENI holds', async () => {
    expect(await cloud.findNetworkInterface('10.99.99.99')).toBeUndefined();
    expect(callCount(sandbox, 'DescribeNetworkInterfaces')).toEqual({ ok: 2, failed: 0 });
  });
});

/**
 * The stand-in filters exactly, so an IP never spans pages there. This responder plays an API that
 * widens the filter: other ENIs first, the match on page 2 behind an opaque NextToken with `+/=`.
 * It checks no signature; the SDK's request building and paging are what is under test.
 */
describe('findNetworkInterface paging', () => {
  let server: Server;
  let endpoint: string;
  const seen: URLSearchParams[] = [];
  const TOKEN = 'AAAAAdDWBF2w6Olxc+cMPjUt/JSvFWO=';

  const eniWire = (id: string, ips: string[]) => ({
    NetworkInterfaceId: id,
    Type: 'Secondary',
    InstanceId: 'i-paged',
    PrivateIpAddress: ips[0],
    PrivateIpSets: { PrivateIpSet: ips.map((ip, index) => ({ PrivateIpAddress: ip, Primary: index === 0 })) },
  });

  beforeAll(async () => {
    server = createServer((request, response) => {
      const query = new URL(request.url ?? '/', 'http://x').searchParams;
      seen.push(query);
      const second = query.get('NextToken') === TOKEN;
      const body = second
        ? {
            RequestId: 'R2',
            NextToken: '',
            NetworkInterfaceSets: { NetworkInterfaceSet: [eniWire('eni-match', ['10.1.0.2', '10.1.0.50'])] },
          }
        : {
            RequestId: 'R1',
            NextToken: TOKEN,
            NetworkInterfaceSets: {
              NetworkInterfaceSet: [
                eniWire('eni-other1', ['10.1.0.3']),
                eniWire('eni-other2', ['10.1.0.4', '10.1.0.51']),
              ],
            },
          };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );

  it('follows NextToken and confirms the IP in the answer instead of trusting the filter', async () => {
    const paged = createAlibabaEipCloud({
      regionId: 'cn-hangzhou',
      vpcId: 'vpc-paged',
      endpoint,
      protocol: 'http',
      credentials: { kind: 'access-key', accessKeyId: 'TESTKEYID0001', accessKeySecret: 'test-secret-0001' },
    });
    expect(await paged.findNetworkInterface('10.1.0.50')).toEqual({
      networkInterfaceId: 'eni-match',
      type: 'Secondary',
      instanceId: 'i-paged',
      isPrimaryIp: false,
      privateIp: '10.1.0.50',
    });
    expect(
      seen.map((query) => [
        query.get('RegionId'),
        query.get('VpcId'),
        query.get('PrivateIpAddress.1'),
        query.get('NextToken'),
      ]),
    ).toEqual([
      ['cn-hangzhou', 'vpc-paged', '10.1.0.50', null],
      ['cn-hangzhou', 'vpc-paged', '10.1.0.50', TOKEN],
    ]);
  });
});
