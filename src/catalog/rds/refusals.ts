import type { InstanceFacts } from './instance.ts';

/**
 * Why RDS would refuse to change an instance in this status, said before approval; null
 * for the statuses in `allowed`. RDS itself answers InvalidDBInstanceState.
 */
export function statusRefusal(
  facts: InstanceFacts,
  allowed: readonly string[] = ['available'],
): string | null {
  const { instance: id, status } = facts;
  if (status !== null && allowed.includes(status)) return null;
  switch (status) {
    case null:
      return (
        `DB instance ${id} reported no status, so it cannot be known to accept the change; ` +
        'describe it again and re-plan once it reports available'
      );
    case 'stopped':
    case 'stopping':
      return (
        `DB instance ${id} is ${status}: RDS refuses changes to a stopped instance ` +
        '(InvalidDBInstanceState). Start it, wait until it is available, re-plan and run ' +
        'the fix; stop it again afterwards if it should stay stopped'
      );
    case 'creating':
      return `DB instance ${id} is still being created; wait until it is available, then re-plan`;
    case 'failed':
      return (
        `DB instance ${id} is in the failed state: RDS cannot change it. Restore it from a ` +
        'backup or ask AWS Support to recover it; nothing will be changed'
      );
    default:
      return (
        `DB instance ${id} is ${status}, not available: RDS refuses changes until it is. ` +
        'Wait for the current operation to finish, then re-plan'
      );
  }
}
