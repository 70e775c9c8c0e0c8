import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type AclEntry, type SASLOptions } from "kafkajs";
import { etcdPermissions, kafkaAcls, SECURED_ROLES, type EtcdStore, type KafkaAcl, type SecuredRole } from "../../src/grants.ts";
import { isolatedRun } from "./cluster.ts";

interface Access {
  admin: { username: string; password: string };
  users: Record<SecuredRole, string>;
}

/** The secured cluster (`scripts/cluster up --secure`): endpoints, its administrators and each role's password. */
export interface SecureCluster {
  etcd: Access & { endpoints: string };
  kafka: Access & { brokers: string; mechanism: "scram-sha-512" };
}

/** The secured cluster named by ACU_SECURE_CLUSTER_DIR (its run dir), or null when it is not set. */
export function secureCluster(): SecureCluster | null {
  const dir = process.env.ACU_SECURE_CLUSTER_DIR;
  if (!dir) {
    console.log("secure cluster tests: ACU_SECURE_CLUSTER_DIR is not set (scripts/cluster up --secure --only etcd,kafka; see docs/cluster.md); skipping");
    return null;
  }
  const read = (c: string) => JSON.parse(readFileSync(join(dir, c, "access.json"), "utf8"));
  return { etcd: read("etcd"), kafka: read("kafka") };
}

export function kafkaAs(sc: SecureCluster, username: string, password: string): Kafka {
  return new Kafka({
    brokers: sc.kafka.brokers.split(","),
    sasl: { mechanism: sc.kafka.mechanism, username, password } as SASLOptions,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 1 },
  });
}

export function etcdAs(sc: SecureCluster, auth: { username: string; password: string } | null): Etcd3 {
  return new Etcd3({ hosts: sc.etcd.endpoints.split(","), dialTimeout: 3000, ...(auth ? { auth } : {}) });
}

const RESOURCE = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  "transactional-id": AclResourceTypes.TRANSACTIONAL_ID,
  cluster: AclResourceTypes.CLUSTER,
};
const OPERATION = {
  read: AclOperationTypes.READ,
  write: AclOperationTypes.WRITE,
  describe: AclOperationTypes.DESCRIBE,
  create: AclOperationTypes.CREATE,
  "idempotent-write": AclOperationTypes.IDEMPOTENT_WRITE,
};

function aclEntry(user: string, a: KafkaAcl): AclEntry {
  return {
    principal: `User:${user}`,
    host: "*",
    operation: OPERATION[a.operation],
    permissionType: AclPermissionTypes.ALLOW,
    resourceType: RESOURCE[a.resource],
    resourceName: a.name,
    resourcePatternType: a.pattern === "prefixed" ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
  };
}

/**
 * One test run on the secured cluster: its own namespace and prefixes (isolatedRun, with the database on
 * the plain cluster's PostgreSQL), each role's Kafka ACLs and etcd role granted as src/grants.ts says,
 * and `envOf(role)`: the run's environment with that role's user. `drop` removes the grants and the database.
 */
export async function secureRun(
  sc: SecureCluster,
  database: string,
  name: string,
): Promise<{ env: Record<string, string>; envOf: (role: SecuredRole) => Record<string, string>; drop: () => Promise<void> }> {
  const iso = await isolatedRun({ kafka: sc.kafka.brokers, etcd: sc.etcd.endpoints, database }, name);
  const ns = iso.env.ACU_KAFKA_NAMESPACE!;
  const prefixes: Record<EtcdStore, string> = {
    thresholds: iso.env.ACU_ETCD_PREFIX!,
    tokens: iso.env.ACU_ETCD_TOKEN_PREFIX!,
    dispatch: iso.env.ACU_ETCD_DISPATCH_PREFIX!,
  };
  const acl = SECURED_ROLES.flatMap((r) => kafkaAcls(r, ns).map((a) => aclEntry(r, a)));
  const admin = kafkaAs(sc, sc.kafka.admin.username, sc.kafka.admin.password).admin();
  await admin.connect();
  await admin.createAcls({ acl });
  await admin.disconnect();

  const root = etcdAs(sc, sc.etcd.admin);
  const roleName = (r: SecuredRole) => `${ns}${r}`;
  for (const r of SECURED_ROLES) {
    const role = await root.role(roleName(r)).create();
    for (const p of etcdPermissions(r, prefixes))
      await role.grant({ permission: p.access === "read" ? "Read" : "Readwrite", range: root.range({ prefix: p.prefix }) });
    await root.user(r).addRole(roleName(r));
  }
  root.close();

  const envOf = (r: SecuredRole) => ({
    ...iso.env,
    ACU_KAFKA_SASL_MECHANISM: sc.kafka.mechanism,
    ACU_KAFKA_SASL_USERNAME: r,
    ACU_KAFKA_SASL_PASSWORD: sc.kafka.users[r],
    ACU_ETCD_USER: r,
    ACU_ETCD_PASSWORD: sc.etcd.users[r],
  });
  const drop = async () => {
    const a = kafkaAs(sc, sc.kafka.admin.username, sc.kafka.admin.password).admin();
    await a.connect();
    await a.deleteAcls({ filters: acl }).catch(() => {});
    await a.disconnect();
    const e = etcdAs(sc, sc.etcd.admin);
    for (const r of SECURED_ROLES)
      await e
        .role(roleName(r))
        .delete()
        .catch(() => {});
    await e
      .delete()
      .prefix(`/${ns.slice(0, -1)}/`)
      .catch(() => {});
    e.close();
    await iso.drop();
  };
  return { env: iso.env, envOf, drop };
}
