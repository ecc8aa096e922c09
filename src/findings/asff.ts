import type { FindingStatus, NormalizedFinding } from '../domain/finding.ts';
import type { Severity } from '../domain/status.ts';
import { nameFromId, parseArn } from './aws-resource.ts';
import { severityFromLabel, severityFromNormalized, UNRATED } from './severity.ts';
import {
  asObject,
  firstOfList,
  isObject,
  optionalNumber,
  optionalObject,
  optionalString,
  optionalStringList,
  requiredString,
  type JsonObject,
  type Path,
} from './shape.ts';

/**
 * Reads AWS Security Finding Format: what Security Hub's GetFindings and exports return,
 * and what Prowler writes with `--output-formats json-asff`.
 */

/** Whether a parsed value looks like one ASFF finding, for telling formats apart. */
export function looksLikeAsff(value: unknown): boolean {
  return (
    isObject(value) &&
    ('SchemaVersion' in value ||
      ('ProductArn' in value && 'GeneratorId' in value) ||
      ('AwsAccountId' in value && 'Resources' in value))
  );
}

const COMPLIANCE: Readonly<Record<string, FindingStatus>> = {
  FAILED: 'failed',
  PASSED: 'passed',
  // WARNING and NOT_AVAILABLE say the check could not decide; Prowler also writes WARNING
  // for muted findings. Neither is a failure to act on.
  WARNING: 'unknown',
  NOT_AVAILABLE: 'unknown',
};

export function readAsffFinding(value: unknown, path: Path): NormalizedFinding {
  const finding = asObject(value, path);
  const findingId = requiredString(finding, 'Id', path);
  const generatorId = requiredString(finding, 'GeneratorId', path);
  const account = requiredString(finding, 'AwsAccountId', path);
  const title = requiredString(finding, 'Title', path);
  const productFields = readProductFields(finding, path);
  const compliance = optionalObject(finding, 'Compliance', path);
  const compliancePath = [...path, 'Compliance'];

  const resource = firstOfList(finding, 'Resources', path, readResource);

  const origin = originOf(finding, productFields, generatorId, path);
  const control = controlOf(origin, generatorId, productFields, compliance, compliancePath);
  const requirements = compliance
    ? optionalStringList(compliance, 'RelatedRequirements', compliancePath)
    : [];

  return {
    source: { kind: 'vulnerability', findingId, title, origin, checkId: control.checkId },
    status: statusOf(finding, compliance, path),
    severity: severityOf(finding, path),
    resource: {
      provider: 'aws',
      account,
      region:
        resource.region ??
        optionalString(finding, 'Region', path) ??
        regionOf(resource.id) ??
        regionOf(optionalString(finding, 'ProductArn', path)) ??
        '',
      type: resource.type,
      id: resource.id,
      name: nameFromId(resource.id),
    },
    related: unique([...control.related, ...requirements]),
    ...(resource.details ? { details: resource.details } : {}),
  };
}

interface AsffResource {
  type: string;
  id: string;
  region: string | undefined;
  /** `Details`, keyed by resource type (`{ "AwsEc2SecurityGroup": { ... } }`), as given. */
  details: JsonObject | undefined;
}

function readResource(value: unknown, path: Path): AsffResource {
  const resource = asObject(value, path);
  return {
    type: requiredString(resource, 'Type', path),
    id: requiredString(resource, 'Id', path),
    region: optionalString(resource, 'Region', path),
    details: optionalObject(resource, 'Details', path),
  };
}

/** ProductFields is a string-to-string map in ASFF; only the keys used here are checked. */
function readProductFields(finding: JsonObject, path: Path) {
  const fields = optionalObject(finding, 'ProductFields', path) ?? {};
  const fieldsPath = [...path, 'ProductFields'];
  return {
    controlId: optionalString(fields, 'ControlId', fieldsPath),
    ruleId: optionalString(fields, 'RuleId', fieldsPath),
    providerName: optionalString(fields, 'ProviderName', fieldsPath),
  };
}

type ProductFields = ReturnType<typeof readProductFields>;

const SECURITY_HUB_PRODUCT = /:product\/aws\/securityhub$/;
const PROWLER_PRODUCT = /:product\/prowler\/prowler$/;
const PROWLER_GENERATOR = /^prowler-/;
/** Generator ids of Security Hub's own standards and consolidated controls. */
const STANDARD_GENERATOR = new RegExp(
  '^(arn:aws[\\w-]*:securityhub:::ruleset/|aws-foundational-security-best-practices/|' +
    'cis-aws-foundations-benchmark/|pci-dss/|nist-800-53/|security-control/)',
);

function originOf(
  finding: JsonObject,
  fields: ProductFields,
  generatorId: string,
  path: Path,
): string {
  const productArn = optionalString(finding, 'ProductArn', path);
  const productName = optionalString(finding, 'ProductName', path);
  const companyName = optionalString(finding, 'CompanyName', path);
  const prowler =
    (productArn !== undefined && PROWLER_PRODUCT.test(productArn)) ||
    fields.providerName?.toLowerCase() === 'prowler' ||
    productName?.toLowerCase() === 'prowler';
  if (prowler) return 'prowler';
  if (productArn !== undefined && SECURITY_HUB_PRODUCT.test(productArn)) return 'securityhub';
  if (productName?.toLowerCase() === 'security hub') return 'securityhub';
  if (productName) return productName.toLowerCase();
  if (companyName) return companyName.toLowerCase();
  if (STANDARD_GENERATOR.test(generatorId)) return 'securityhub';
  const product = productArn?.split(':product/')[1]?.split('/').pop();
  return product ? product.toLowerCase() : 'unknown';
}

interface Control {
  checkId: string;
  related: string[];
}

/**
 * The check a finding reports. For Security Hub the consolidated SecurityControlId
 * (`S3.4`) wins, because standard-specific ids repeat across standards and CIS numbers
 * change between benchmark versions; the standard's own id is kept in `related`. A CIS
 * finding without the consolidated id is known by its rule qualified with the
 * benchmark version (`CIS 1.2.0 4.1`), since a bare `4.1` names an SSH rule in one
 * version and a CloudWatch alarm in another.
 */
function controlOf(
  origin: string,
  generatorId: string,
  fields: ProductFields,
  compliance: JsonObject | undefined,
  compliancePath: Path,
): Control {
  if (origin === 'prowler') {
    return { checkId: generatorId.replace(PROWLER_GENERATOR, ''), related: [] };
  }
  const securityControlId = compliance
    ? optionalString(compliance, 'SecurityControlId', compliancePath)
    : undefined;
  const standardId = fields.controlId ?? fields.ruleId;
  if (origin !== 'securityhub') {
    return { checkId: securityControlId ?? standardId ?? generatorId, related: [] };
  }
  const ownId = standardId ?? lastSegment(generatorId);
  const qualified = qualify(generatorId, ownId);
  const checkId = securityControlId ?? (isCis(generatorId) ? qualified : ownId);
  return { checkId, related: qualified !== checkId ? [qualified] : [] };
}

const CIS = 'cis-aws-foundations-benchmark/';
const CIS_VERSION = /cis-aws-foundations-benchmark\/v\/(\d+(?:\.\d+)*)\//;

function isCis(generatorId: string): boolean {
  return generatorId.includes(CIS);
}

/**
 * `CIS 1.2.0 4.1` (`CIS 4.1` when the generator names no version), `AFSBP S3.4`; PCI ids
 * (`PCI.EC2.2`) already say their standard.
 */
function qualify(generatorId: string, id: string): string {
  if (isCis(generatorId)) {
    const version = CIS_VERSION.exec(generatorId)?.[1];
    return version ? `CIS ${version} ${id}` : `CIS ${id}`;
  }
  if (generatorId.startsWith('aws-foundational-security-best-practices/')) return `AFSBP ${id}`;
  if (generatorId.startsWith('nist-800-53/')) return `NIST.800-53.r5 ${id}`;
  return id;
}

function lastSegment(generatorId: string): string {
  return generatorId.split('/').pop() || generatorId;
}

/**
 * Archived findings are no longer current (the resource went away or the control was
 * turned off) and suppressed ones were dismissed by a person: both are counted but
 * never treated as failures to fix.
 */
function statusOf(
  finding: JsonObject,
  compliance: JsonObject | undefined,
  path: Path,
): FindingStatus {
  const recordState = optionalString(finding, 'RecordState', path);
  if (recordState?.toUpperCase() === 'ARCHIVED') return 'unknown';
  const workflow = optionalObject(finding, 'Workflow', path);
  const workflowStatus = workflow && optionalString(workflow, 'Status', [...path, 'Workflow']);
  if (workflowStatus?.toUpperCase() === 'SUPPRESSED') return 'unknown';
  const status = compliance && optionalString(compliance, 'Status', [...path, 'Compliance']);
  return status === undefined ? 'unknown' : (COMPLIANCE[status.toUpperCase()] ?? 'unknown');
}

function severityOf(finding: JsonObject, path: Path): Severity {
  const severity = optionalObject(finding, 'Severity', path);
  const severityPath = [...path, 'Severity'];
  const provider = optionalObject(finding, 'FindingProviderFields', path);
  const providerPath = [...path, 'FindingProviderFields'];
  const providerSeverity = provider && optionalObject(provider, 'Severity', providerPath);
  const providerLabel =
    providerSeverity && optionalString(providerSeverity, 'Label', [...providerPath, 'Severity']);
  return (
    (severity && severityFromLabel(optionalString(severity, 'Label', severityPath))) ??
    (severity && severityFromNormalized(optionalNumber(severity, 'Normalized', severityPath))) ??
    severityFromLabel(providerLabel) ??
    UNRATED
  );
}

function regionOf(id: string | undefined): string | undefined {
  const region = id === undefined ? undefined : parseArn(id)?.region;
  return region === '' ? undefined : region;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
