import type { SandboxRequest, SandboxResponse, ServiceContext } from '../types.ts';
import { checkDigests, ownedBucket } from './access.ts';
import {
  alreadyExists,
  alreadyOwned,
  illegalLocation,
  invalidArgument,
  invalidBucketName,
  invalidLocation,
} from './errors.ts';
import { canonicalUserId, isValidBucketName } from './names.ts';
import type { BucketStore } from './store.ts';
import { onlyKnown, parseBody, tag, text, xmlDocument } from './xml.ts';

const US_EAST_1 = 'us-east-1';

export interface S3Deps {
  store: BucketStore;
  ctx: ServiceContext;
}

export function createBucket(req: SandboxRequest, name: string, deps: S3Deps): SandboxResponse {
  if (!isValidBucketName(name)) throw invalidBucketName(name);
  checkDigests(req);
  const location = requestedLocation(req);
  const signedRegion = req.signer?.region ?? US_EAST_1;
  if (location === US_EAST_1) throw invalidLocation(location);
  if (signedRegion !== US_EAST_1 && location !== signedRegion) {
    throw illegalLocation(location ?? 'unspecified');
  }
  const region = location ?? US_EAST_1;

  const existing = deps.store.get(name);
  if (existing && existing.account !== req.account) throw alreadyExists(name);
  if (existing) {
    // North Virginia keeps S3's legacy answer: re-creating your own bucket succeeds.
    if (existing.region === US_EAST_1 && region === US_EAST_1) return created(name);
    throw alreadyOwned(name);
  }

  deps.store.add({
    name,
    account: req.account,
    region,
    createdAt: deps.ctx.now().toISOString(),
    encryption: null,
    publicAccessBlock: null,
    versioning: null,
  });
  deps.ctx.record({
    service: 's3',
    operation: 'CreateBucket',
    resource: name,
    account: req.account,
    region,
    params: {
      Bucket: name,
      ...(location ? { CreateBucketConfiguration: { LocationConstraint: location } } : {}),
    },
  });
  return created(name);
}

function created(name: string): SandboxResponse {
  return { status: 200, headers: { location: `/${name}` } };
}

function requestedLocation(req: SandboxRequest): string | undefined {
  if (req.body.length === 0) return undefined;
  const config = parseBody(req.body, 'CreateBucketConfiguration');
  onlyKnown(config, ['LocationConstraint']);
  const location = text(config, 'LocationConstraint');
  return location === '' ? undefined : location;
}

export function headBucket(req: SandboxRequest, name: string, deps: S3Deps): SandboxResponse {
  const bucket = ownedBucket(req, deps.store, name);
  return {
    status: 200,
    headers: { 'x-amz-bucket-region': bucket.region, 'x-amz-access-point-alias': 'false' },
  };
}

export function deleteBucket(req: SandboxRequest, name: string, deps: S3Deps): SandboxResponse {
  const bucket = ownedBucket(req, deps.store, name);
  deps.store.delete(name);
  deps.ctx.record({
    service: 's3',
    operation: 'DeleteBucket',
    resource: name,
    account: bucket.account,
    region: bucket.region,
    params: { Bucket: name },
  });
  return { status: 204 };
}

export function getBucketLocation(
  req: SandboxRequest,
  name: string,
  deps: S3Deps,
): SandboxResponse {
  const bucket = ownedBucket(req, deps.store, name, { anyRegion: true });
  // S3 answers an empty constraint for North Virginia, for compatibility with old clients.
  const region = bucket.region === US_EAST_1 ? '' : bucket.region;
  return xml(xmlDocument('LocationConstraint', region));
}

const MAX_BUCKETS = 10_000;

export function listBuckets(req: SandboxRequest, deps: S3Deps): SandboxResponse {
  const prefix = req.query.get('prefix') ?? '';
  const regionFilter = req.query.get('bucket-region');
  const token = req.query.get('continuation-token');
  const after = token ? Buffer.from(token, 'base64url').toString('utf8') : '';
  const max = pageSize(req.query.get('max-buckets'));

  const matching = deps.store
    .list(req.account)
    .filter((b) => b.name.startsWith(prefix) && (!regionFilter || b.region === regionFilter))
    .filter((b) => b.name > after);
  const page = matching.slice(0, max);
  const more = matching.length > page.length;
  const last = page.at(-1);

  const buckets = page
    .map(
      (b) =>
        `<Bucket>${tag('Name', b.name)}${tag('CreationDate', b.createdAt)}` +
        `${tag('BucketRegion', b.region)}</Bucket>`,
    )
    .join('');
  const owner = `<Owner>${tag('ID', canonicalUserId(req.account))}</Owner>`;
  const next =
    more && last ? tag('ContinuationToken', Buffer.from(last.name).toString('base64url')) : '';
  const body = `${owner}<Buckets>${buckets}</Buckets>${next}${prefix ? tag('Prefix', prefix) : ''}`;
  return xml(xmlDocument('ListAllMyBucketsResult', body));
}

function pageSize(raw: string | null): number {
  if (raw === null) return MAX_BUCKETS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_BUCKETS) {
    throw invalidArgument(
      'Argument max-buckets must be an integer between 1 and 10000',
      'max-buckets',
      raw,
    );
  }
  return n;
}

export function xml(body: string): SandboxResponse {
  return { status: 200, headers: { 'content-type': 'application/xml' }, body };
}
