#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages lbd needs to build, test and benchmark.
# Idempotent and silent when everything is already there.
set -euo pipefail

pkgs=(
	build-essential clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
	libssl-dev libpcre2-dev libnl-3-dev libnl-route-3-dev libnghttp2-dev libcrypt-dev
	libcriterion-dev pkg-config iproute2 curl python3 socat
	nginx-light haproxy wrk slowhttptest
	nghttp2-client testssl.sh libnginx-mod-stream
	php8.2-fpm uwsgi-core uwsgi-plugin-python3 memcached python3-grpcio
	python3-cryptography
)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ "$st" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "deps: missing packages: ${missing[*]} (run as root to install)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# Debian starts nginx and haproxy services on install; lbd's tests start their
# own instances, so keep the packaged services from taking ports.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
