import type { ParamReader, QueryParams } from '../query/form.ts';
import type { XmlValue } from '../query/xml.ts';
import { ec2Error } from './errors.ts';
import { instancesById } from './instances-api.ts';
import type { Instance } from './model.ts';
import { checkDryRun, type Ec2Operation, record } from './request.ts';

/** The attributes DescribeInstanceAttribute answers, as EC2 names them. */
const ATTRIBUTES: Record<string, (i: Instance) => XmlValue> = {
  disableApiTermination: (i) => ({ disableApiTermination: { value: i.disableApiTermination } }),
  disableApiStop: (i) => ({ disableApiStop: { value: i.disableApiStop } }),
  instanceInitiatedShutdownBehavior: (i) => ({
    instanceInitiatedShutdownBehavior: { value: i.shutdownBehavior },
  }),
  instanceType: (i) => ({ instanceType: { value: i.instanceType } }),
};

export const describeInstanceAttribute: Ec2Operation = (deps, region, p) => {
  const id = p.str('InstanceId');
  if (!id) throw ec2Error.missingParameter('InstanceId');
  const attribute = p.str('Attribute');
  if (!attribute) throw ec2Error.missingParameter('Attribute');
  const render = ATTRIBUTES[attribute];
  if (!render) {
    throw ec2Error.invalidParameter(
      `Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`,
    );
  }
  const [instance] = instancesById(region, [id]);
  return { instanceId: id, ...(render(instance as Instance) as object) };
};

/**
 * Sets one attribute: `DisableApiTermination.Value`, `DisableApiStop.Value`,
 * `InstanceInitiatedShutdownBehavior.Value`, or the older `Attribute` and `Value` pair.
 */
export const modifyInstanceAttribute: Ec2Operation = (deps, region, p, raw) => {
  const id = p.str('InstanceId');
  if (!id) throw ec2Error.missingParameter('InstanceId');
  const [instance] = instancesById(region, [id]) as [Instance];
  const change = requestedChange(p, raw);
  if (instance.state === 'terminated' || instance.state === 'shutting-down') {
    throw ec2Error.incorrectInstanceState(instance.id, instance.state);
  }
  const apply = setter(instance, change.name, change.value);
  checkDryRun(p);
  apply();
  record(deps, region, 'ModifyInstanceAttribute', instance.id, {
    InstanceId: instance.id,
    ...change.logged,
  });
  return { return: true };
};

const NESTED = ['DisableApiTermination', 'DisableApiStop', 'InstanceInitiatedShutdownBehavior'];

/** The one attribute a call changes, and the call as the SDK input states it. */
function requestedChange(p: ParamReader, raw: QueryParams) {
  for (const name of NESTED) {
    const node = raw[name];
    const value = typeof node === 'object' && !Array.isArray(node) ? node.Value : undefined;
    if (typeof value === 'string') {
      const typed = name === 'InstanceInitiatedShutdownBehavior' ? value : value === 'true';
      return { name, value, logged: { [name]: { Value: typed } } };
    }
  }
  const attribute = p.str('Attribute');
  const value = p.str('Value');
  if (attribute === undefined || value === undefined) {
    throw ec2Error.missingParameter('DisableApiTermination');
  }
  const name = attribute.charAt(0).toUpperCase() + attribute.slice(1);
  return { name, value, logged: { Attribute: attribute, Value: value } };
}

function setter(instance: Instance, name: string, value: unknown): () => void {
  const bool = () => {
    if (value !== 'true' && value !== 'false') {
      throw ec2Error.invalidParameter(
        `Invalid value '${String(value)}' for ${name}: not a boolean`,
      );
    }
    return value === 'true';
  };
  switch (name) {
    case 'DisableApiTermination': {
      const v = bool();
      return () => (instance.disableApiTermination = v);
    }
    case 'DisableApiStop': {
      const v = bool();
      return () => (instance.disableApiStop = v);
    }
    case 'InstanceInitiatedShutdownBehavior': {
      if (value !== 'stop' && value !== 'terminate') {
        throw ec2Error.invalidParameter(`Value (${String(value)}) for parameter value is invalid`);
      }
      return () => (instance.shutdownBehavior = value);
    }
    default:
      throw ec2Error.invalidParameter(
        `Value (${name}) for parameter attribute is invalid. Unknown attribute.`,
      );
  }
}
