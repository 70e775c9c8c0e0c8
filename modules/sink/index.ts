export { startSink, highestWrittenOffsets, SINK_GROUP, type SinkOptions } from "./sink.ts";
