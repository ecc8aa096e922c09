import { type Kysely, type RawBuilder, sql } from 'kysely';

/**
 * Kubescape and kube-bench findings were keyed without the kube context, so importing the
 * same report for a second cluster updated, or resolved, the first cluster's findings.
 * Keys are now `<origin>:<context>/<rest>`; this gives stored findings, the links from
 * actions to them and the actions' own source the new key, with the context each already
 * records as its resource account, so they keep their identity. Polaris, trivy-operator
 * and manifest keys always held the context (through the resource id) and are left as
 * they are.
 *
 * Resource exclusions written as `context/namespace/Kind/name`, which matched nothing,
 * become the `k8s://` id findings show (dropped when that id is already excluded).
 */
const ORIGINS = ['kubescape', 'kube-bench'];

export async function up(db: Kysely<any>): Promise<void> {
  for (const origin of ORIGINS) {
    const prefix = `${origin}:`;
    const from = prefix.length + 1;
    const like = sql.lit(`${prefix}%`);
    // Literals, not parameters: PostgreSQL cannot type a parameter on either side of `||`.
    const rekey = (account: RawBuilder<unknown>, key: RawBuilder<unknown>) =>
      sql`${sql.lit(prefix)} || ${account} || '/' || substr(${key}, ${sql.lit(from)})`;

    // Links whose finding is gone take the context of the action they belong to; done first,
    // while every other link still carries the old key its finding has.
    await sql`
      update action_findings set finding_id = ${rekey(
        sql`(select a.resource_account from actions a where a.id = action_findings.action_id)`,
        sql`action_findings.finding_id`,
      )}
      where origin = ${sql.lit(origin)} and finding_id like ${like}
        and not exists (
          select 1 from findings f
          where f.origin = action_findings.origin and f.key = action_findings.finding_id
        )
    `.execute(db);
    await sql`
      update action_findings set finding_id = (
        select ${rekey(sql`f.resource_account`, sql`f.key`)} from findings f
        where f.origin = action_findings.origin and f.key = action_findings.finding_id
      )
      where origin = ${sql.lit(origin)} and finding_id like ${like}
        and exists (
          select 1 from findings f
          where f.origin = action_findings.origin and f.key = action_findings.finding_id
        )
    `.execute(db);
    await sql`
      update findings set key = ${rekey(sql`resource_account`, sql`key`)}
      where origin = ${sql.lit(origin)} and key like ${like}
    `.execute(db);
    await sql`
      update actions set source_finding_id = ${rekey(sql`resource_account`, sql`source_finding_id`)}
      where source_origin = ${sql.lit(origin)} and source_finding_id like ${like}
    `.execute(db);
  }

  await sql`
    delete from finding_exclusions
    where scope = 'resource' and value not like 'k8s://%' and value not like 'arn:%'
      and exists (
        select 1 from finding_exclusions k
        where k.scope = 'resource' and k.value = 'k8s://' || finding_exclusions.value
      )
  `.execute(db);
  await sql`
    update finding_exclusions set value = 'k8s://' || value
    where scope = 'resource' and value not like 'k8s://%' and value not like 'arn:%'
  `.execute(db);
}
