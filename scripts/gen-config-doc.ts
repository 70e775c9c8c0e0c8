/** Writes docs/configuration.md from the configuration's sections and the command table. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { configDoc } from "../src/cli/config-doc.ts";

const path = join(import.meta.dir, "../docs/configuration.md");
writeFileSync(path, configDoc());
console.log("wrote docs/configuration.md");
