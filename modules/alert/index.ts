export { startAlert, ALERT_GROUP } from "./alert.ts";
export { judgeBatch } from "./judge.ts";
