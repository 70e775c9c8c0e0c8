/** `acu lake status|adopt-bus`: which bus the lake's files came from, and adopting another one on purpose. */
import { adoptBus, lakeBinding, SINK_TOPICS } from "../../modules/sink/index.ts";
import { describeBus } from "../domain/lake-binding.ts";
import type { Bus } from "../ports/bus.ts";
import type { Lake } from "../ports/lake.ts";
import { command, UsageError, type CommandLine } from "./commands.ts";

export type LakeCommand = { action: "status" } | { action: "adopt-bus" };

const lake = command("lake");

export function parseLakeCommand(line: CommandLine): LakeCommand {
  const [action] = line.positionals;
  if (action !== "status" && action !== "adopt-bus")
    throw new UsageError(action ? `unknown lake command "${action}"; status or adopt-bus` : "status or adopt-bus?", lake);
  return { action };
}

/** status prints the binding and the configured bus; adopt-bus records the configured bus as the lake's (a new epoch). */
export async function runLakeCommand(cmd: LakeCommand, deps: { lake: Lake; bus: Bus }, print: (line: string) => void): Promise<void> {
  if (cmd.action === "adopt-bus") {
    const { previous, epoch } = await adoptBus(deps.lake, deps.bus, SINK_TOPICS);
    print(`the lake now continues from ${describeBus(epoch.bus)}${previous ? ` (it was written from ${describeBus(previous)})` : ""}`);
    print(`its offsets go on after the lake's: ${JSON.stringify(epoch.base)}`);
    return;
  }
  const status = await lakeBinding(deps.lake, deps.bus, SINK_TOPICS);
  print(JSON.stringify(status, null, 2));
}
