/** The lake: Parquet files under the data dir, or on HDFS (WebHDFS). */
import { join } from "node:path";
import type { RunConfig } from "./general.ts";
import type { EngineDescriptor, Section } from "./section.ts";
import { ConfigError, list, type Setting } from "./setting.ts";

export interface LakeConfig {
  /** null = local files. */
  hdfsUrl: string | null;
  hdfsNamenode: string | null;
  hdfsRoot: string;
}

const lakeSettings = {
  url: { env: "ACU_HDFS_URL", default: "(local files)", help: "WebHDFS address `http://namenode:port`: the lake on HDFS" },
  namenode: { env: "ACU_HDFS_NAMENODE", default: "(webhdfs URIs)", help: "`hdfs://namenode:port`, how lake files are named for Spark" },
  root: { env: "ACU_HDFS_ROOT", default: "/acu/lake", help: "folder of the lake in HDFS" },
} satisfies Record<string, Setting>;

function hdfsRoot(raw: string | undefined): string {
  if (!raw) return "/acu/lake";
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(raw)) throw new ConfigError("ACU_HDFS_ROOT must be an absolute HDFS path of letters, digits, '.', '_' and '-'");
  return raw;
}

export interface HdfsSettings {
  url: string;
  root: string;
  namenode: string | null;
}

export const lakeEngine: EngineDescriptor<LakeConfig & RunConfig, HdfsSettings> = {
  name: "lake",
  shared: (c) => (c.hdfsUrl ? { url: c.hdfsUrl, root: c.hdfsRoot, namenode: c.hdfsNamenode } : null),
  describe: (c) => (c.hdfsUrl ? `hdfs ${c.hdfsUrl} ${c.hdfsRoot} (${c.hdfsNamenode ?? "webhdfs URIs"})` : `local files in ${join(c.dataDir, "lake")}`),
};

export const lakeSection: Section<LakeConfig> = {
  title: "Lake: local files or HDFS",
  settings: lakeSettings,
  read: (v) => ({
    hdfsUrl: list("ACU_HDFS_URL", v.raw(lakeSettings.url), /^https?:\/\/[A-Za-z0-9.-]+:\d+\/?$/, "http://host:port")?.[0] ?? null,
    hdfsNamenode: list("ACU_HDFS_NAMENODE", v.raw(lakeSettings.namenode), /^hdfs:\/\/[A-Za-z0-9.-]+:\d+$/, "hdfs://host:port")?.[0] ?? null,
    hdfsRoot: hdfsRoot(v.raw(lakeSettings.root)),
  }),
  engines: [lakeEngine],
};
