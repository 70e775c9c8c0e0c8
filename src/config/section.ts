import type { Config } from "./index.ts";
import type { Setting, SettingValues } from "./setting.ts";

/** The engines behind the ports; each has an embedded adapter and a shared one. */
export const ENGINE_NAMES = ["bus", "thresholds", "tokens", "dispatch", "lake", "warehouse", "analytics"] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

/**
 * One engine as the configuration knows it: whether its shared engine is selected (and with what) and
 * how `acu config` describes it. How it opens is src/engines.ts, the only place that imports adapters.
 */
export interface EngineDescriptor<C = Config, S = unknown> {
  name: EngineName;
  /** The shared engine's settings when its variable is set; null = the embedded adapter under the data dir. */
  shared(c: C): S | null;
  describe(c: C): string;
}

/** A group of settings (a role, an engine): its help, how it reads them into its part of `Config`. */
export interface Section<T> {
  /** Heading in `acu --help` and docs/configuration.md. */
  title: string;
  settings: Record<string, Setting>;
  read(v: SettingValues): T;
  /** Paragraphs under the section's table in docs/configuration.md. */
  notes?: string[];
  /** The engines this section selects (a shared engine's variables). */
  engines?: EngineDescriptor[];
}
