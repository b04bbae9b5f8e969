#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ns per packet of the XDP guard's pass and drop paths, measured by the
# kernel (BPF_PROG_TEST_RUN with a repeat count) on private maps. Root.
#   bench/xdp.sh [REPEAT=1000000] [BANS=10000]
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/xdpbench
build/xdpbench "${1:-1000000}" "${2:-10000}"
