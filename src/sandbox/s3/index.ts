import type {
  Route,
  SandboxRequest,
  SandboxResponse,
  ServiceContext,
  ServiceError,
  ServiceModule,
  StateDocument,
} from '../types.ts';
import * as buckets from './buckets-api.ts';
import type { S3Deps } from './buckets-api.ts';
import * as configs from './config-api.ts';
import * as policies from './policy-api.ts';
import { internalError, methodNotAllowed, notImplemented, slowDown } from './errors.ts';
import { BucketStore } from './store.ts';
import { escapeXml } from './xml.ts';

type BucketHandler = (req: SandboxRequest, name: string, deps: S3Deps) => SandboxResponse;

/** Bucket operations by subresource (the query key) and method. */
const BUCKET_ROUTES: Record<string, Record<string, [string, BucketHandler]>> = {
  '': {
    PUT: ['CreateBucket', buckets.createBucket],
    HEAD: ['HeadBucket', buckets.headBucket],
    DELETE: ['DeleteBucket', buckets.deleteBucket],
  },
  encryption: {
    GET: ['GetBucketEncryption', configs.getBucketEncryption],
    PUT: ['PutBucketEncryption', configs.putBucketEncryption],
    DELETE: ['DeleteBucketEncryption', configs.deleteBucketEncryption],
  },
  publicAccessBlock: {
    GET: ['GetPublicAccessBlock', configs.getPublicAccessBlock],
    PUT: ['PutPublicAccessBlock', configs.putPublicAccessBlock],
    DELETE: ['DeletePublicAccessBlock', configs.deletePublicAccessBlock],
  },
  versioning: {
    GET: ['GetBucketVersioning', configs.getBucketVersioning],
    PUT: ['PutBucketVersioning', configs.putBucketVersioning],
  },
  policy: {
    GET: ['GetBucketPolicy', policies.getBucketPolicy],
    PUT: ['PutBucketPolicy', policies.putBucketPolicy],
    DELETE: ['DeleteBucketPolicy', policies.deleteBucketPolicy],
  },
  policyStatus: { GET: ['GetBucketPolicyStatus', policies.getBucketPolicyStatus] },
  location: { GET: ['GetBucketLocation', buckets.getBucketLocation] },
  tagging: { GET: ['GetBucketTagging', configs.getBucketTagging] },
};

/** Query keys that qualify a request without naming a subresource. */
const NOT_SUBRESOURCES = new Set(['x-id', 'prefix', 'max-buckets', 'continuation-token']);

/**
 * S3 over its REST-XML protocol, path-style: `/` lists buckets, `/{bucket}?{subresource}`
 * reads or writes one bucket configuration. Objects are not emulated.
 */
export function createS3Module(ctx: ServiceContext): ServiceModule {
  const deps: S3Deps = { store: new BucketStore(), ctx };

  return {
    name: 's3',

    match(req: SandboxRequest): Route {
      const slash = req.path.indexOf('/', 1);
      const bucket = slash === -1 ? req.path.slice(1) : req.path.slice(1, slash);
      const key = slash === -1 ? '' : req.path.slice(slash + 1);
      if (bucket === '') {
        if (req.method === 'GET') {
          return { operation: 'ListBuckets', run: () => buckets.listBuckets(req, deps) };
        }
        return failing('Unsupported', methodNotAllowed(req.method, 'SERVICE'));
      }
      if (key !== '') return failing('ObjectOperation', notImplemented());

      const sub = subresource(req.query);
      const byMethod = BUCKET_ROUTES[sub];
      if (!byMethod) return failing('Unsupported', notImplemented());
      const route = byMethod[req.method];
      if (!route) {
        // A plain GET on a bucket is ListObjects, which the sandbox does not emulate.
        if (sub === '' && req.method === 'GET') return failing('ListObjects', notImplemented());
        return failing('Unsupported', methodNotAllowed(req.method, 'BUCKET'));
      }
      const [operation, handler] = route;
      return { operation, run: () => handler(req, bucket, deps) };
    },

    faultError(kind) {
      return kind === 'throttle' ? slowDown() : internalError();
    },

    renderError(err: ServiceError, req: SandboxRequest): SandboxResponse {
      const headers = { ...err.headers };
      // A HEAD response has no body: the SDK reads the status alone.
      if (req.method === 'HEAD') return { status: err.status, headers };
      const fields = Object.entries(err.fields ?? {})
        .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
        .join('');
      const body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' +
        `<Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message>` +
        `${fields}<RequestId>${req.requestId}</RequestId>` +
        `<HostId>${hostId(req.requestId)}</HostId></Error>`;
      return {
        status: err.status,
        headers: { ...headers, 'content-type': 'application/xml' },
        body,
      };
    },

    responseHeaders(req: SandboxRequest) {
      return { 'x-amz-request-id': req.requestId, 'x-amz-id-2': hostId(req.requestId) };
    },

    load(doc: StateDocument) {
      deps.store.load(doc, ctx.now());
    },

    save(doc: StateDocument) {
      deps.store.save(doc);
    },
  };
}

function subresource(query: URLSearchParams): string {
  for (const key of query.keys()) {
    if (!NOT_SUBRESOURCES.has(key) && !key.startsWith('X-Amz-')) return key;
  }
  return '';
}

function failing(operation: string, error: Error): Route {
  return {
    operation,
    run: () => {
      throw error;
    },
  };
}

/** The extended request id S3 sends beside the request id. */
function hostId(requestId: string): string {
  return Buffer.from(`sandbox/${requestId}`).toString('base64');
}
