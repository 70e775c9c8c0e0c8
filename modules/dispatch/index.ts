export { startDispatch, DISPATCH_GROUP, DEFAULT_ACK_TIMEOUT_MS, DEFAULT_DISPATCH_OPTIONS, type DispatchOptions, type DispatchRole } from "./dispatch.ts";
export { DispatchService, INCIDENT_LIST_MAX, type DispatchServiceOptions } from "./service.ts";
export { OutboxRelay, DEFAULT_RELAY_OPTIONS, type RelayOptions } from "./relay.ts";
export type { FeedFrame, Subscription } from "./view.ts";
