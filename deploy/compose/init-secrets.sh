#!/bin/sh
# The compose `init` service: makes, once, everything the secured deployment needs, into
# /secrets (./deploy/compose/secrets on the host, which docker-compose.yml hands to each service
# as compose `secrets:`). The same openssl commands as the tests' throwaway CA
# (test/harness/throwaway-tls.ts): ECDSA P-256, SHA-256, subjectAltName for every name a client dials.
#   CA           ca.crt (+ ca.key: move it offline after the first run; it is only needed to sign)
#   Kafka        kafka-broker.pem (key + certificate, CN=broker: inter-broker and controller mTLS)
#                kafka-admin.pem  (CN=admin, super user, used by kafka-init only)
#                kafka-<user>.password for the SCRAM users central, edge-sub-01..03
#   MinIO        minio-certs/{public.crt,private.key,CAs/ca.crt}, minio-root-password
#   InfluxDB 2   influxdb.crt/.key, influx-admin-password, influx-token
#   MQTT (edges) edge-mqtt.crt/.key, mqtt-device-password, mqtt-credentials.json (scrypt, one entry per meter)
#   Grafana      grafana-admin-password
#   central API  api-tokens.json (hashed API keys), api-admin-token (the first admin key, shown
#                nowhere else), metrics-token (Prometheus' scrape token for central's /metrics)
# Idempotent: an initialised directory (.done) is left as it is. Rotation: docs/security.md.
set -eu
S=${SECRETS_DIR:-/secrets}
APP=${GRIDWATCH_APP:-/app}
TOPOLOGY=${TOPOLOGY:-/etc/gridwatch/topology.csv}
if [ -f "$S/.done" ]; then
  echo "init: $S is initialised already (docs/security.md tells how to rotate)"
  exit 0
fi
cd "$S"
umask 077
EC="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

# shellcheck disable=SC2086
openssl req -x509 $EC -keyout ca.key -out ca.crt -days 3650 -subj "/O=gridwatch/CN=gridwatch compose CA" 2>/dev/null

# leaf NAME CN SUBJECT_ALT_NAMES EXTENDED_KEY_USAGE
leaf() {
  # shellcheck disable=SC2086
  openssl req $EC -keyout "$1.key" -out "$1.csr" -subj "/O=gridwatch/CN=$2" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$3" "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -out "$1.crt" -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
leaf kafka-broker broker "DNS:kafka-1,DNS:kafka-2,DNS:kafka-3,DNS:localhost" "serverAuth,clientAuth"
cat kafka-broker.key kafka-broker.crt > kafka-broker.pem
leaf kafka-admin admin "DNS:kafka-init" "clientAuth"
cat kafka-admin.key kafka-admin.crt > kafka-admin.pem
leaf minio minio "DNS:minio,DNS:localhost" "serverAuth"
mkdir -p minio-certs/CAs
cp minio.crt minio-certs/public.crt
cp minio.key minio-certs/private.key
cp ca.crt minio-certs/CAs/ca.crt
leaf influxdb influxdb "DNS:influxdb,DNS:localhost" "serverAuth"
leaf edge-mqtt edge "DNS:edge-s01,DNS:edge-s02,DNS:edge-s03,DNS:localhost" "serverAuth"

# 256 random bits, hex: no character that a shell, a URL or a JAAS line would need to escape.
secret() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$1"; }
for name in kafka-central kafka-edge-sub-01 kafka-edge-sub-02 kafka-edge-sub-03; do secret "$name.password"; done
for name in minio-root-password influx-admin-password influx-token grafana-admin-password mqtt-device-password metrics-token; do secret "$name"; done

# Central's API keys (hashed; `gridwatch credentials add-token` prints the token once): one admin
# key to sign in to the console and to make the operators' own keys with.
(cd "$APP" && node --import tsx bin/gridwatch.js credentials add-token --name compose-admin --role admin --file "$S/api-tokens.json" 2>/dev/null) > api-admin-token

# One MQTT credential per meter of the topology (username = meterId, scrypt hash of the device
# password), the file the edges read (GRIDWATCH_MQTT_CREDENTIALS) and the simulator's --device-auth.
(cd "$APP" && node --import tsx deploy/compose/device-credentials.ts "$TOPOLOGY" "$S/mqtt-device-password") > mqtt-credentials.json

# Inside the containers every file is read by the service's own (non-root) user; on the host the
# directory stays its owner's alone. The CA key is for signing only: no service mounts it.
chmod 0444 ./*.crt ./*.key ./*.pem ./*.password ./*-password influx-token metrics-token api-tokens.json mqtt-credentials.json minio-certs/public.crt minio-certs/private.key minio-certs/CAs/ca.crt
chmod 0400 ca.key api-admin-token
chmod 0755 minio-certs minio-certs/CAs
chmod 0700 .
touch .done
echo "init: CA, certificates, passwords and $(grep -c passwordHash mqtt-credentials.json || true) device credentials written to $S"
