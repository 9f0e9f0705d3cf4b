#!/bin/bash
# The compose `kafka-init` service: once the brokers answer, creates the SCRAM users and the ACLs
# (Kafka's StandardAuthorizer; nothing is allowed that is not granted here). It connects as
# User:admin with the admin client certificate on the brokers' mTLS listener (9094), so no
# password is needed before the first SCRAM user exists. Idempotent: run it again after a rotation.
#   central          reads every grid.* topic, creates them, writes grid.events and grid.central-state,
#                    uses the consumer groups gridwatch-central*
#   edge-sub-NN      writes the five topics an edge produces; reads nothing, creates nothing
set -euo pipefail
K=/opt/kafka/bin
B=kafka-1:9094,kafka-2:9094,kafka-3:9094
ADMIN=/tmp/admin.properties
cat > "$ADMIN" <<PROPS
security.protocol=SSL
ssl.keystore.type=PEM
ssl.keystore.location=/run/secrets/kafka-admin.pem
ssl.truststore.type=PEM
ssl.truststore.location=/run/secrets/ca.crt
PROPS

for i in $(seq 1 90); do
  if "$K/kafka-broker-api-versions.sh" --bootstrap-server "$B" --command-config "$ADMIN" > /dev/null 2>&1; then break; fi
  [ "$i" = 90 ] && { echo "kafka-init: brokers did not answer on $B" >&2; exit 1; }
  sleep 2
done

EDGES="edge-sub-01 edge-sub-02 edge-sub-03"
for user in central $EDGES; do
  pw=$(cat "/run/secrets/kafka-$user.password")
  "$K/kafka-configs.sh" --bootstrap-server "$B" --command-config "$ADMIN" --alter --entity-type users --entity-name "$user" \
    --add-config "SCRAM-SHA-512=[iterations=8192,password=$pw],SCRAM-SHA-256=[iterations=8192,password=$pw]" > /dev/null
  echo "kafka-init: SCRAM user $user"
done

acl() { "$K/kafka-acls.sh" --bootstrap-server "$B" --command-config "$ADMIN" --add --force "$@" > /dev/null; }
EDGE_WRITES="grid.readings grid.anomalies grid.edge-status grid.gaps grid.topology"
CENTRAL_READS="grid.readings grid.anomalies grid.edge-status grid.gaps grid.topology grid.events grid.central-state"
for user in $EDGES; do
  for t in $EDGE_WRITES; do acl --allow-principal "User:$user" --operation Write --topic "$t"; done
done
for t in $CENTRAL_READS; do acl --allow-principal User:central --operation Read --operation Create --topic "$t"; done
for t in grid.events grid.central-state; do acl --allow-principal User:central --operation Write --topic "$t"; done
acl --allow-principal User:central --operation Read --group gridwatch-central --resource-pattern-type prefixed
echo "kafka-init: ACLs granted"
