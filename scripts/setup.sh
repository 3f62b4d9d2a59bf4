#!/usr/bin/env bash
# Installs what the tests need on Debian/Ubuntu: real servers the test harness starts itself.
# Nothing is started as a system service here; tests run their own instances on free loopback
# ports. Safe to run again: already-installed packages are skipped.
set -euo pipefail

packages=(redis-server redis-sentinel redis-tools mariadb-server prometheus fonts-dejavu-core openssl
  python3 python3-pip)
binaries=(/usr/bin/redis-server /usr/bin/redis-sentinel /usr/bin/redis-cli /usr/sbin/mariadbd /usr/bin/prometheus /usr/bin/promtool
  /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/bin/openssl)

# Helm's own library for Python (renders and lints deploy/helm/prescale in scaler/tests/helm_chart.rs
# through scripts/helm.py; no helm binary needed), from PyPI, after the packages (python3, pip).
helm_sdk() {
  if python3 -c "import helm_python" >/dev/null 2>&1; then
    return
  fi
  echo "setup: installing helm-python-sdk from PyPI"
  # Debian's own python3 is "externally managed" (PEP 668): pip then needs the flag
  python3 -m pip install --quiet "helm-python-sdk==0.2.2" ||
    python3 -m pip install --quiet --break-system-packages "helm-python-sdk==0.2.2"
}
# python3 with pip (any: Debian's or the machine's own) is what helm_sdk needs
missing=0
command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 || missing=1

for b in "${binaries[@]}"; do
  [ -e "$b" ] || missing=1
done
if [ "$missing" = 0 ]; then
  echo "setup: redis-server, redis-sentinel, mariadbd, prometheus, openssl and the chart font are installed"
  helm_sdk
  exit 0
fi

if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
echo "setup: installing ${packages[*]} from Debian's packages"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
# --no-install-recommends keeps prometheus from pulling exporters and a web UI we do not use.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
# Debian's packages start their services where an init system runs; the tests do not use them.
for svc in redis-server redis-sentinel mariadb prometheus; do
  "${sudo[@]}" service "$svc" stop >/dev/null 2>&1 || true
done
helm_sdk
