/** Thresholds, API tokens and the dispatch store: embedded files under the data dir, or etcd. */
import { join } from "node:path";
import type { RunConfig } from "./general.ts";
import type { EngineDescriptor, Section } from "./section.ts";
import { credentials, list, num, text, type Credentials, type Setting } from "./setting.ts";

export interface ThresholdsConfig {
  defaultThreshold: number;
  /** null = the embedded files. */
  etcdEndpoints: string[] | null;
  etcdPrefix: string;
  etcdTokenPrefix: string;
  etcdDispatchPrefix: string;
  /** null = no authentication. */
  etcdAuth: Credentials | null;
}

const thresholdSettings = {
  defaultThreshold: {
    env: "ACU_DEFAULT_THRESHOLD",
    default: "50",
    help: "whole percent for exercises without a threshold (first start only; later changed through the API)",
  },
  endpoints: {
    env: "ACU_ETCD_ENDPOINTS",
    default: "(embedded file)",
    help: "`http://host:port,…` of an etcd cluster: thresholds, API tokens and the dispatch store",
  },
  prefix: { env: "ACU_ETCD_PREFIX", default: "/acu/thresholds/", help: "etcd key prefix of thresholds: `<prefix>default`, `<prefix>exercises/<exerciseId>`" },
  tokenPrefix: {
    env: "ACU_ETCD_TOKEN_PREFIX",
    default: "/acu/tokens/",
    help: "etcd key prefix of API tokens: `<prefix><id>` → `{id, scope, label, createdAt, digest}` (+ `patrolId` on patrol tokens; SHA-256, never the secret)",
  },
  dispatchPrefix: {
    env: "ACU_ETCD_DISPATCH_PREFIX",
    default: "/acu/dispatch/",
    help: "etcd key prefix of the dispatch store: incidents, patrols, students' open incidents, the outbox",
  },
  user: { env: "ACU_ETCD_USER", default: "(none)", help: "etcd user of this process, when etcd has auth on (each acu role its own user: docs/operations.md)" },
  password: { env: "ACU_ETCD_PASSWORD", default: "(none)", secret: true, help: "password of `ACU_ETCD_USER`" },
} satisfies Record<string, Setting>;

export interface EtcdSettings {
  endpoints: string[];
  prefix: string;
  auth: Credentials | null;
}

const as = (c: C) => (c.etcdAuth ? ` as ${c.etcdAuth.username}` : "");

type C = ThresholdsConfig & RunConfig;

export const thresholdsEngine: EngineDescriptor<C, EtcdSettings> = {
  name: "thresholds",
  shared: (c) => (c.etcdEndpoints ? { endpoints: c.etcdEndpoints, prefix: c.etcdPrefix, auth: c.etcdAuth } : null),
  describe: (c) =>
    c.etcdEndpoints ? `etcd ${c.etcdEndpoints.join(",")} prefix ${c.etcdPrefix}${as(c)}` : `embedded file ${join(c.dataDir, "thresholds.json")}`,
};

export const tokensEngine: EngineDescriptor<C, EtcdSettings> = {
  name: "tokens",
  shared: (c) => (c.etcdEndpoints ? { endpoints: c.etcdEndpoints, prefix: c.etcdTokenPrefix, auth: c.etcdAuth } : null),
  describe: (c) =>
    c.etcdEndpoints ? `etcd ${c.etcdEndpoints.join(",")} prefix ${c.etcdTokenPrefix}${as(c)}` : `embedded file ${join(c.dataDir, "tokens.json")}`,
};

export const dispatchEngine: EngineDescriptor<C, EtcdSettings> = {
  name: "dispatch",
  shared: (c) => (c.etcdEndpoints ? { endpoints: c.etcdEndpoints, prefix: c.etcdDispatchPrefix, auth: c.etcdAuth } : null),
  describe: (c) =>
    c.etcdEndpoints ? `etcd ${c.etcdEndpoints.join(",")} prefix ${c.etcdDispatchPrefix}${as(c)}` : `embedded journal in ${join(c.dataDir, "dispatch")}`,
};

export const thresholdsSection: Section<ThresholdsConfig> = {
  title: "Thresholds, tokens and dispatch: embedded files or etcd",
  settings: thresholdSettings,
  read: (v) => {
    const s = thresholdSettings;
    const etcdEndpoints = list("ACU_ETCD_ENDPOINTS", v.raw(s.endpoints), /^https?:\/\/[A-Za-z0-9.-]+:\d+$/, "http://host:port");
    return {
      defaultThreshold: num(
        "ACU_DEFAULT_THRESHOLD",
        v.raw(s.defaultThreshold),
        50,
        (n) => Number.isInteger(n) && n >= 0 && n <= 100,
        "must be a whole percent 0–100",
      ),
      etcdEndpoints,
      etcdPrefix: text(v.raw(s.prefix), "/acu/thresholds/"),
      etcdTokenPrefix: text(v.raw(s.tokenPrefix), "/acu/tokens/"),
      etcdDispatchPrefix: text(v.raw(s.dispatchPrefix), "/acu/dispatch/"),
      etcdAuth: credentials(
        { name: "ACU_ETCD_USER", raw: v.raw(s.user) },
        { name: "ACU_ETCD_PASSWORD", raw: v.raw(s.password) },
        { name: "ACU_ETCD_ENDPOINTS", configured: etcdEndpoints !== null },
      ),
    };
  },
  engines: [thresholdsEngine, tokensEngine, dispatchEngine],
};
