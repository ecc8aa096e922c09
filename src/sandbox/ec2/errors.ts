import { ApiError } from '../api-error.ts';

/** EC2's own error codes and messages, as the API answers them. */
const fail = (code: string, message: string, status = 400) =>
  new ApiError({ status, code, message });

export const ec2Error = {
  invalidParameter: (message: string) => fail('InvalidParameterValue', message),
  invalidCombination: (message: string) => fail('InvalidParameterCombination', message),
  missingParameter: (name: string) =>
    fail('MissingParameter', `The request must contain the parameter ${name}`),
  unknownFilter: (name: string) => fail('InvalidParameterValue', `The filter '${name}' is invalid`),
  badToken: (token: string) =>
    fail('InvalidPaginationToken', `The pagination token '${token}' is invalid`),
  dryRun: () =>
    fail('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412),

  groupNotFound: (id: string) =>
    fail('InvalidGroup.NotFound', `The security group '${id}' does not exist`),
  groupNameNotFound: (name: string, vpcId: string) =>
    fail(
      'InvalidGroup.NotFound',
      `The security group '${name}' does not exist in default VPC '${vpcId}'`,
    ),
  groupIdMalformed: (id: string) =>
    fail('InvalidGroupId.Malformed', `Invalid id: "${id}" (expecting "sg-...")`),
  groupDuplicate: (name: string, vpcId: string) =>
    fail(
      'InvalidGroup.Duplicate',
      `The security group '${name}' already exists for VPC '${vpcId}'`,
    ),
  groupReserved: (name: string) =>
    fail('InvalidGroup.Reserved', `The security group '${name}' is reserved`),
  cannotDeleteDefault: (id: string) =>
    fail(
      'CannotDelete',
      `the specified group: "${id}" name: "default" cannot be deleted by a user`,
    ),
  dependencyViolation: (id: string) =>
    fail('DependencyViolation', `resource ${id} has a dependent object`),
  vpcNotFound: (id: string) => fail('InvalidVpcID.NotFound', `The vpc ID '${id}' does not exist`),
  ruleIdNotFound: (id: string) =>
    fail(
      'InvalidSecurityGroupRuleId.NotFound',
      `The security group rule ID '${id}' does not exist`,
    ),

  permissionNotFound: () =>
    fail('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.'),
  permissionDuplicate: (rule: string) =>
    fail('InvalidPermission.Duplicate', `the specified rule "${rule}" already exists`),
  permissionMalformed: (message: string) => fail('InvalidPermission.Malformed', message),

  instanceNotFound: (ids: readonly string[]) =>
    ids.length === 1
      ? fail('InvalidInstanceID.NotFound', `The instance ID '${ids[0]}' does not exist`)
      : fail('InvalidInstanceID.NotFound', `The instance IDs '${ids.join(', ')}' do not exist`),
  instanceIdMalformed: (id: string) => fail('InvalidInstanceID.Malformed', `Invalid id: "${id}"`),
  amiMalformed: (id: string) =>
    fail('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`),
  terminationProtected: (id: string) =>
    fail(
      'OperationNotPermitted',
      `The instance '${id}' may not be terminated. Modify its 'disableApiTermination' ` +
        'instance attribute and try again.',
    ),
  incorrectInstanceState: (id: string, state: string) =>
    fail(
      'IncorrectInstanceState',
      `The instance '${id}' is not in a state from which it can be modified (${state}).`,
    ),
};

/** What EC2 answers a throttled caller: the SDK retries it with backoff. */
export const REQUEST_LIMIT_EXCEEDED = {
  status: 503,
  code: 'RequestLimitExceeded',
  message: 'Request limit exceeded.',
};
