#!/usr/bin/env bash
# `make prod-check` runs nginx (TLS, static files, the proxy in front of gunicorn) on loopback
# ports of its own. Installs Debian's nginx-light when no nginx is there and we may; otherwise
# says how. Debian's package would start a system nginx on :80: we keep it from starting during
# the install and leave that service stopped and disabled, so it holds no port.
set -euo pipefail
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing nginx-light for make prod-check" >&2
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl disable --now nginx >/dev/null 2>&1 || true
  else
    [ -x /etc/init.d/nginx ] && /etc/init.d/nginx stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null && update-rc.d nginx disable >/dev/null 2>&1 || true
  fi
else
  echo "make prod-check needs: sudo apt-get install nginx-light" >&2
  exit 1
fi
