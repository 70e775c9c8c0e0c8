export { startSink, highestWrittenOffsets, SINK_GROUP, SINK_TOPICS, type SinkOptions } from "./sink.ts";
export { adoptBus, bindLakeToBus, lakeBinding } from "./bus-binding.ts";
