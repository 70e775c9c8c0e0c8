#!/bin/sh
# compose's one-shot Kafka setup (service kafka-setup): a SCRAM-SHA-512 user per acu role, then the ACLs
# of deploy/engines/grants.txt, as the admin (PLAIN, the brokers' static JAAS user). Idempotent: adding a
# user or an ACL again changes nothing. Needs KAFKA_ADMIN_PASSWORD and <ROLE>_ENGINE_PASSWORD.
set -eu
bin=/opt/kafka/bin
bootstrap=kafka-1:9092
cfg=/tmp/admin.properties
cat >"$cfg" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD";
PROPS
for role in ingest alert sink dispatch http; do
  pw=$(printenv "$(echo "$role" | tr a-z A-Z)_ENGINE_PASSWORD")
  "$bin/kafka-configs.sh" --bootstrap-server "$bootstrap" --command-config "$cfg" --alter \
    --add-config "SCRAM-SHA-512=[password=$pw]" --entity-type users --entity-name "$role"
done
grep '^kafka ' /grants.txt | while read -r _ role resource name pattern operation; do
  case $resource in
    topic) target="--topic $name" ;;
    group) target="--group $name" ;;
    transactional-id) target="--transactional-id $name" ;;
    cluster) target="--cluster" ;;
  esac
  op=$(echo "$operation" | sed 's/idempotent-write/IdempotentWrite/')
  # shellcheck disable=SC2086  # $target is two words
  "$bin/kafka-acls.sh" --bootstrap-server "$bootstrap" --command-config "$cfg" --add --allow-principal "User:$role" \
    --operation "$op" $target --resource-pattern-type "$pattern" >/dev/null
done
echo "kafka-setup: users and ACLs of ingest alert sink dispatch http in place"
