import { ApiError } from '../api-error.ts';
import type {
  Route,
  SandboxRequest,
  SandboxResponse,
  ServiceError,
  ServiceModule,
  StateDocument,
} from '../types.ts';
import { escapeXml } from '../xml-escape.ts';
import { type ParamReader, parseForm, type QueryParams, reader } from './form.ts';
import { toXml, type XmlValue } from './xml.ts';

/** One operation: reads its parameters, changes state, returns the result element's content. */
export type QueryOperation = (
  params: ParamReader,
  req: SandboxRequest,
  raw: QueryParams,
) => XmlValue;

export interface QueryServiceSpec {
  /** The SigV4 service name the SDK signs with: `ec2`, `iam`, `rds`, `sts`. */
  name: string;
  /**
   * `ec2`: the EC2 flavour (`<requestId>` in the response, `<Response><Errors>` errors);
   * `query`: IAM, RDS and STS (`<XResult>`, `<ErrorResponse>`).
   */
  style: 'ec2' | 'query';
  xmlns: string;
  operations: Record<string, QueryOperation>;
  /** The service's own throttling answer, e.g. EC2's RequestLimitExceeded (503). */
  throttle: ServiceError;
  load(doc: StateDocument): void;
  save(doc: StateDocument): void;
}

/** The error a service gives for a malformed parameter, in its own terms. */
export function invalidParameter(message: string, code = 'InvalidParameterValue'): ApiError {
  return new ApiError({ status: 400, code, message });
}

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/**
 * A service spoken over the AWS query protocol: form-encoded `Action=...` requests and
 * XML responses. Each service supplies its operations and state; this does the wire.
 */
export function createQueryModule(spec: QueryServiceSpec): ServiceModule {
  const internal: ServiceError = {
    status: 500,
    code: spec.style === 'ec2' ? 'InternalError' : 'InternalFailure',
    message: 'We encountered an internal error. Please try again.',
  };

  return {
    name: spec.name,

    match(req: SandboxRequest): Route {
      const body = req.method === 'POST' ? req.body.toString('utf8') : req.query.toString();
      const { action, params } = parseForm(body);
      const operation = spec.operations[action];
      if (!operation) {
        return {
          operation: action || 'Unknown',
          run: () => {
            throw new ApiError({
              status: 400,
              code: 'InvalidAction',
              message: `The action ${action || '(none)'} is not valid for this web service.`,
            });
          },
        };
      }
      const read = reader(params, (m) => invalidParameter(m));
      return {
        operation: action,
        run: () => respond(spec, action, req, operation(read, req, params)),
      };
    },

    faultError: (kind) => (kind === 'throttle' ? spec.throttle : internal),

    renderError(err: ServiceError, req: SandboxRequest): SandboxResponse {
      const code = escapeXml(err.code);
      const message = escapeXml(err.message);
      const body =
        spec.style === 'ec2'
          ? `${DECLARATION}<Response><Errors><Error><Code>${code}</Code>` +
            `<Message>${message}</Message></Error></Errors>` +
            `<RequestID>${req.requestId}</RequestID></Response>`
          : `${DECLARATION}<ErrorResponse xmlns="${spec.xmlns}"><Error>` +
            `<Type>${err.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code>` +
            `<Message>${message}</Message></Error>` +
            `<RequestId>${req.requestId}</RequestId></ErrorResponse>`;
      return {
        status: err.status,
        headers: { ...err.headers, 'content-type': 'text/xml' },
        body,
      };
    },

    responseHeaders: (req) => ({ 'x-amzn-requestid': req.requestId }),
    load: spec.load,
    save: spec.save,
  };
}

function respond(
  spec: QueryServiceSpec,
  action: string,
  req: SandboxRequest,
  result: XmlValue,
): SandboxResponse {
  const inner = toXml(result);
  const body =
    spec.style === 'ec2'
      ? `${DECLARATION}<${action}Response xmlns="${spec.xmlns}">` +
        `<requestId>${req.requestId}</requestId>${inner}</${action}Response>`
      : `${DECLARATION}<${action}Response xmlns="${spec.xmlns}">` +
        `<${action}Result>${inner}</${action}Result>` +
        `<ResponseMetadata><RequestId>${req.requestId}</RequestId></ResponseMetadata>` +
        `</${action}Response>`;
  return { status: 200, headers: { 'content-type': 'text/xml' }, body };
}
