#!/usr/bin/env bash
# A secured triaged beside Prometheus and Alertmanager, in DIR:
#   bash deploy/prometheus/secure/setup.sh DIR
# makes a CA and certificates for 127.0.0.1/localhost (tls/), random
# passwords and a token (secrets/, mode 600), triaged's web config
# (triage-web.yml: TLS, users with roles, Prometheus's token by SHA-256) and
# Alertmanager's (alertmanager-web.yml), and copies prometheus.yml and
# alertmanager.yml beside them. Then:
#   triaged --web-config-file DIR/triage-web.yml --alertmanager-url https://127.0.0.1:9093 \
#     --alertmanager-ca-file DIR/tls/ca.crt --alertmanager-basic-auth-file DIR/secrets/triaged-to-alertmanager
#   prometheus --config.file DIR/prometheus.yml
#   prometheus-alertmanager --config.file DIR/alertmanager.yml --web.config.file DIR/alertmanager-web.yml
# The page: https://127.0.0.1:7080/ as `oncall` (secrets/oncall-password).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: setup.sh DIR}
mkdir -p "$dir/tls" "$dir/secrets"
cd "$dir"
umask 077

openssl req -x509 -newkey rsa:2048 -nodes -keyout tls/ca.key -out tls/ca.crt -days 365 \
  -subj "/CN=triage example CA" 2>/dev/null
for name in triage alertmanager; do
  openssl req -newkey rsa:2048 -nodes -keyout "tls/$name.key" -out "tls/$name.csr" \
    -subj "/CN=$name" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "tls/$name.ext"
  openssl x509 -req -in "tls/$name.csr" -CA tls/ca.crt -CAkey tls/ca.key -CAcreateserial \
    -out "tls/$name.crt" -days 365 -extfile "tls/$name.ext" 2>/dev/null
done
chmod 644 tls/*.crt

secret() { openssl rand -hex 16; }
for s in oncall-password alertmanager-to-triaged triaged-to-alertmanager \
         prometheus-to-alertmanager prometheus-token; do
  [ -s "secrets/$s" ] || secret > "secrets/$s"
done
# triaged reads "user:password" for Alertmanager.
printf 'triaged:%s\n' "$(cat secrets/triaged-to-alertmanager)" > secrets/triaged-to-alertmanager.basic
bcrypt() { /usr/bin/python3 -W ignore -c 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))' "$1"; }

cat > triage-web.yml <<YAML
# triaged's web config (triagectl check web-config triage-web.yml).
tls_server_config:
  cert_file: tls/triage.crt
  key_file: tls/triage.key
  min_version: TLS12
basic_auth_users:
  oncall: $(bcrypt "$(cat secrets/oncall-password)")
  alertmanager: $(bcrypt "$(cat secrets/alertmanager-to-triaged)")
user_roles:
  oncall: [operate]
  alertmanager: [ingest]
bearer_tokens:
  - name: prometheus
    sha256: $(tr -d '\n' < secrets/prometheus-token | sha256sum | cut -d' ' -f1)
    roles: [ingest, read]
YAML

cat > alertmanager-web.yml <<YAML
# Alertmanager's web config (promtool check web-config alertmanager-web.yml).
tls_server_config:
  cert_file: tls/alertmanager.crt
  key_file: tls/alertmanager.key
basic_auth_users:
  triaged: $(bcrypt "$(cat secrets/triaged-to-alertmanager)")
  prometheus: $(bcrypt "$(cat secrets/prometheus-to-alertmanager)")
YAML

sed 's#\.\./rules\.yml#rules.yml#' "$here/prometheus.yml" > prometheus.yml
cp "$here/../rules.yml" rules.yml
cp "$here/alertmanager.yml" alertmanager.yml
echo "secured deployment in $dir"
