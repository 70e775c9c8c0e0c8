import { Kafka, logLevel } from "kafkajs";
import postgres from "postgres";

/** The local cluster's endpoints, as `scripts/cluster env` exports them; null when it is not up. */
export function clusterEnv(): { kafka: string; etcd: string; database: string } | null {
  const kafka = process.env.ACU_KAFKA_BROKERS;
  const etcd = process.env.ACU_ETCD_ENDPOINTS;
  const database = process.env.ACU_DATABASE_URL;
  if (!kafka || !etcd || !database) {
    console.log(
      'cluster tests: ACU_KAFKA_BROKERS, ACU_ETCD_ENDPOINTS and ACU_DATABASE_URL are not all set (scripts/cluster up && eval "$(scripts/cluster env)"); skipping',
    );
    return null;
  }
  return { kafka, etcd, database };
}

/**
 * Environment for one test run on the shared cluster: its own Kafka namespace (topics, groups), etcd
 * prefixes (thresholds, tokens) and database, so runs never see each other's data.
 */
export async function isolatedRun(
  c: { kafka: string; etcd: string; database: string },
  name: string,
): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  const run = `${name}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const admin = postgres(c.database, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${run}`);
  await admin.end();
  const url = new URL(c.database);
  url.pathname = `/${run}`;
  return {
    env: {
      ACU_KAFKA_BROKERS: c.kafka,
      ACU_KAFKA_NAMESPACE: `${run}.`,
      ACU_ETCD_ENDPOINTS: c.etcd,
      ACU_ETCD_PREFIX: `/${run}/thresholds/`,
      ACU_ETCD_TOKEN_PREFIX: `/${run}/tokens/`,
      ACU_ETCD_DISPATCH_PREFIX: `/${run}/dispatch/`,
      ACU_DATABASE_URL: url.toString(),
    },
    drop: async () => {
      const a = postgres(c.database, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${run} WITH (FORCE)`).catch(() => {});
      await a.end();
    },
  };
}

/** Reports of student-reports the alert role of a run (its Kafka namespace) has not committed yet. */
export async function alertLag(env: Record<string, string>): Promise<number> {
  const kafka = new Kafka({ brokers: env.ACU_KAFKA_BROKERS!.split(","), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topic = `${env.ACU_KAFKA_NAMESPACE}student-reports`;
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: `${env.ACU_KAFKA_NAMESPACE}acu-alert`, topics: [topic] });
    let lag = 0;
    for (const e of ends) lag += Number(e.high) - Math.max(0, Number(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1));
    return lag;
  } finally {
    await admin.disconnect();
  }
}
