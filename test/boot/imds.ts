/**
 * A stand-in for one instance's metadata service, IMDSv2 only (the templates set `HttpTokens: required`): a
 * session token from `PUT /latest/api/token` (TTL header required, 1-21600 s), then every `GET` must carry it
 * (401 otherwise, as EC2 answers). Serves what the programs and the AWS tools read: local-ipv4, instance-id,
 * placement, the instance role's credentials (the AWS CLI's default chain reads them here), the instance identity
 * document and the user data. Listens on a Unix socket; the sandbox relays 169.254.169.254:80 to it.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface InstanceIdentity {
  readonly instanceId: string;
  readonly privateIp: string;
  readonly region: string;
  readonly availabilityZone: string;
  /** The instance profile's role name; its credentials are the emulator's test keys. */
  readonly roleName: string;
  readonly userData: string;
}

export interface Imds {
  readonly server: Server;
  /** `METHOD path status` of every request, in order. */
  readonly requests: string[];
}

export async function startImds(socketPath: string, identity: InstanceIdentity): Promise<Imds> {
  const tokens = new Set<string>();
  const requests: string[] = [];
  const credentials = JSON.stringify({
    Code: 'Success',
    LastUpdated: new Date().toISOString(),
    Type: 'AWS-HMAC',
    AccessKeyId: 'testing',
    SecretAccessKey: 'testing',
    Token: 'testing',
    Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
  });
  const paths: Record<string, string> = {
    '/latest/meta-data/local-ipv4': identity.privateIp,
    '/latest/meta-data/instance-id': identity.instanceId,
    '/latest/meta-data/placement/region': identity.region,
    '/latest/meta-data/placement/availability-zone': identity.availabilityZone,
    '/latest/meta-data/iam/security-credentials/': identity.roleName,
    [`/latest/meta-data/iam/security-credentials/${identity.roleName}`]: credentials,
    '/latest/dynamic/instance-identity/document': JSON.stringify({
      instanceId: identity.instanceId,
      privateIp: identity.privateIp,
      region: identity.region,
      availabilityZone: identity.availabilityZone,
      accountId: '123456789012',
    }),
    '/latest/user-data': identity.userData,
  };
  const server = createServer((req, res) => {
    const answer = (status: number, body = '') => {
      requests.push(`${req.method} ${req.url} ${status}`);
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(body);
    };
    const path = (req.url ?? '').split('?')[0]!;
    if (req.method === 'PUT' && path === '/latest/api/token') {
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return answer(400);
      const token = randomBytes(24).toString('base64');
      tokens.add(token);
      return answer(200, token);
    }
    if (req.method !== 'GET') return answer(405);
    if (!tokens.has(String(req.headers['x-aws-ec2-metadata-token'] ?? ''))) return answer(401);
    const body = paths[path];
    return body === undefined ? answer(404) : answer(200, body);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
  return { server, requests };
}
