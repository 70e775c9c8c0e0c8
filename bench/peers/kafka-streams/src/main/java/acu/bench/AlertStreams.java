package acu.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The alert role's filter as a Kafka Streams application: for each report (JSON) whose score is below
 * its exercise's threshold, a deployment order (JSON, same fields as acu's) keyed by student, with
 * exactly-once processing (acu's alert role commits orders and offsets in one transaction too).
 *
 * Thresholds are a fixed map passed on the command line — the same snapshot the harness writes to etcd
 * for acu before the run; acu reads it from etcd once per batch (a local watch copy), so neither side
 * pays a network read per report.
 *
 * Args: bootstrap inputTopic outputTopic applicationId defaultThreshold [exerciseId=threshold ...]
 * System property acu.commitIntervalMs: commit.interval.ms (under exactly-once, Kafka Streams defaults it
 * to 100 ms; its transactions, and so the moment a read_committed reader sees an order, follow it).
 */
public final class AlertStreams {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], input = args[1], output = args[2], appId = args[3];
    double defaultThreshold = Double.parseDouble(args[4]);
    Map<String, Double> thresholds = new HashMap<>();
    for (int i = 5; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      thresholds.put(kv[0], Double.parseDouble(kv[1]));
    }
    ObjectMapper json = new ObjectMapper();

    StreamsBuilder b = new StreamsBuilder();
    b.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .flatMapValues(value -> {
          JsonNode r;
          try {
            r = json.readTree(value);
          } catch (Exception e) {
            return java.util.List.<byte[]>of();
          }
          String exercise = r.path("exerciseId").asText();
          double score = r.path("score").asDouble();
          double threshold = thresholds.getOrDefault(exercise, defaultThreshold);
          if (!(score < threshold)) return java.util.List.<byte[]>of();
          ObjectNode o = json.createObjectNode();
          o.put("alertId", "alert-" + r.path("reportId").asText());
          o.put("reportId", r.path("reportId").asText());
          o.put("studentId", r.path("studentId").asText());
          o.put("exerciseId", exercise);
          o.put("score", score);
          o.put("threshold", threshold);
          o.set("latitude", r.path("latitude"));
          o.set("longitude", r.path("longitude"));
          o.put("region", r.path("region").asText());
          o.set("reportedAt", r.path("timestamp"));
          o.put("raisedAt", System.currentTimeMillis());
          try {
            return java.util.List.of(json.writeValueAsBytes(o));
          } catch (Exception e) {
            return java.util.List.<byte[]>of();
          }
        })
        .to(output, Produced.with(Serdes.String(), Serdes.ByteArray()));

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    p.put(StreamsConfig.STATE_DIR_CONFIG, System.getProperty("java.io.tmpdir") + "/acu-bench-streams-" + appId);
    p.put(StreamsConfig.producerPrefix(ProducerConfig.ACKS_CONFIG), "all");
    p.put("auto.offset.reset", "earliest");
    String commitInterval = System.getProperty("acu.commitIntervalMs");
    if (commitInterval != null) p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.parseLong(commitInterval));

    KafkaStreams streams = new KafkaStreams(b.build(), p);
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close();
      done.countDown();
    }));
    streams.setStateListener((now, before) -> System.out.println("state " + now));
    streams.start();
    done.await();
  }
}
