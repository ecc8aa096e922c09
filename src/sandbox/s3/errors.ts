import { ApiError } from '../api-error.ts';

/** S3's error codes, as the service and the SDK name them. */
export const S3_CODES = {
  noSuchBucket: 'NoSuchBucket',
  noEncryption: 'ServerSideEncryptionConfigurationNotFoundError',
  noPublicAccessBlock: 'NoSuchPublicAccessBlockConfiguration',
  noBucketPolicy: 'NoSuchBucketPolicy',
  malformedPolicy: 'MalformedPolicy',
  alreadyOwned: 'BucketAlreadyOwnedByYou',
  alreadyExists: 'BucketAlreadyExists',
  malformedXml: 'MalformedXML',
  invalidBucketName: 'InvalidBucketName',
  invalidArgument: 'InvalidArgument',
  accessDenied: 'AccessDenied',
  permanentRedirect: 'PermanentRedirect',
  slowDown: 'SlowDown',
  internalError: 'InternalError',
  notImplemented: 'NotImplemented',
  methodNotAllowed: 'MethodNotAllowed',
  badDigest: 'BadDigest',
  illegalLocation: 'IllegalLocationConstraintException',
  invalidLocation: 'InvalidLocationConstraint',
} as const;

export const noSuchBucket = (bucket: string) =>
  new ApiError({
    status: 404,
    code: S3_CODES.noSuchBucket,
    message: 'The specified bucket does not exist',
    fields: { BucketName: bucket },
  });

export const noEncryption = (bucket: string) =>
  new ApiError({
    status: 404,
    code: S3_CODES.noEncryption,
    message: 'The server side encryption configuration was not found',
    fields: { BucketName: bucket },
  });

export const noTagSet = (bucket: string) =>
  new ApiError({
    status: 404,
    code: 'NoSuchTagSet',
    message: 'The TagSet does not exist',
    fields: { BucketName: bucket },
  });

export const noPublicAccessBlock = (bucket: string) =>
  new ApiError({
    status: 404,
    code: S3_CODES.noPublicAccessBlock,
    message: 'The public access block configuration was not found',
    fields: { BucketName: bucket },
  });

export const noBucketPolicy = (bucket: string) =>
  new ApiError({
    status: 404,
    code: S3_CODES.noBucketPolicy,
    message: 'The bucket policy does not exist',
    fields: { BucketName: bucket },
  });

export const malformedPolicy = (message: string) =>
  new ApiError({ status: 400, code: S3_CODES.malformedPolicy, message });

export const alreadyOwned = (bucket: string) =>
  new ApiError({
    status: 409,
    code: S3_CODES.alreadyOwned,
    message: 'Your previous request to create the named bucket succeeded and you already own it.',
    fields: { BucketName: bucket },
  });

export const alreadyExists = (bucket: string) =>
  new ApiError({
    status: 409,
    code: S3_CODES.alreadyExists,
    message:
      'The requested bucket name is not available. The bucket namespace is shared by all ' +
      'users of the system. Please select a different name and try again.',
    fields: { BucketName: bucket },
  });

export const malformedXml = () =>
  new ApiError({
    status: 400,
    code: S3_CODES.malformedXml,
    message:
      'The XML you provided was not well-formed or did not validate against our published schema',
  });

export const invalidBucketName = (bucket: string) =>
  new ApiError({
    status: 400,
    code: S3_CODES.invalidBucketName,
    message: 'The specified bucket is not valid.',
    fields: { BucketName: bucket },
  });

export const invalidArgument = (message: string, name: string, value: string) =>
  new ApiError({
    status: 400,
    code: S3_CODES.invalidArgument,
    message,
    fields: { ArgumentName: name, ArgumentValue: value },
  });

export const accessDenied = () =>
  new ApiError({ status: 403, code: S3_CODES.accessDenied, message: 'Access Denied' });

export const permanentRedirect = (bucket: string, region: string) =>
  new ApiError({
    status: 301,
    code: S3_CODES.permanentRedirect,
    message:
      'The bucket you are attempting to access must be addressed using the specified ' +
      'endpoint. Please send all future requests to this endpoint.',
    fields: { Bucket: bucket, Endpoint: `s3.${region}.amazonaws.com` },
    headers: { 'x-amz-bucket-region': region },
  });

export const slowDown = () =>
  new ApiError({
    status: 503,
    code: S3_CODES.slowDown,
    message: 'Please reduce your request rate.',
  });

export const internalError = () =>
  new ApiError({
    status: 500,
    code: S3_CODES.internalError,
    message: 'We encountered an internal error. Please try again.',
  });

export const notImplemented = () =>
  new ApiError({
    status: 501,
    code: S3_CODES.notImplemented,
    message: 'A header or query you provided implies functionality that is not implemented',
  });

export const methodNotAllowed = (method: string, resourceType: string) =>
  new ApiError({
    status: 405,
    code: S3_CODES.methodNotAllowed,
    message: 'The specified method is not allowed against this resource.',
    fields: { Method: method, ResourceType: resourceType },
  });

export const badDigest = (what: string) =>
  new ApiError({
    status: 400,
    code: S3_CODES.badDigest,
    message: `The ${what} you specified did not match the calculated checksum.`,
  });

export const illegalLocation = (location: string) =>
  new ApiError({
    status: 400,
    code: S3_CODES.illegalLocation,
    message:
      `The ${location} location constraint is incompatible for the region specific ` +
      'endpoint this request was sent to.',
  });

export const invalidLocation = (location: string) =>
  new ApiError({
    status: 400,
    code: S3_CODES.invalidLocation,
    message: 'The specified location-constraint is not valid',
    fields: { LocationConstraint: location },
  });
