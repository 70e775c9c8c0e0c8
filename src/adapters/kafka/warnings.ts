/**
 * kafkajs arms timers with deadlines already past (a negative delay, run at once); Bun reports each as a
 * TimeoutNegativeWarning on stderr. While a KafkaBus is open that warning alone is dropped: every other
 * one still goes to the listeners the process had (Bun's printer by default). Nothing happens at import:
 * an embedded run never touches the process's warnings.
 */
let holders = 0;
let saved: Array<(warning: Error) => void> = [];

function filter(warning: Error): void {
  if (warning.name === "TimeoutNegativeWarning") return;
  for (const listener of saved) listener(warning);
}

/** Drops TimeoutNegativeWarning until the returned function is called (by the last holder, when several are open). */
export function muteTimeoutNegativeWarnings(): () => void {
  if (holders++ === 0) {
    saved = process.listeners("warning");
    process.removeAllListeners("warning");
    process.on("warning", filter);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders > 0) return;
    process.removeListener("warning", filter);
    for (const listener of saved) process.on("warning", listener);
    saved = [];
  };
}
