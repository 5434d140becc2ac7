#!/usr/bin/env bash
# The SMS tests run a real Kannel (bearerbox, smsbox and the fake SMSC fakesmsc) on loopback
# ports of their own. Installs Debian's kannel and kannel-extras when missing and we may;
# otherwise says how. Debian's package would start a system Kannel (a WAP box on :13000 and
# more): we keep it from starting during the install and leave that service stopped and
# disabled, so it neither holds ports nor runs behind the tests' back.
set -euo pipefail
missing=()
[ -x /usr/sbin/bearerbox ] && [ -x /usr/sbin/smsbox ] || missing+=(kannel)
[ -x /usr/lib/kannel/test/fakesmsc ] || missing+=(kannel-extras)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} for the SMS tests" >&2
  # Tell invoke-rc.d not to start services during this install (unless the machine already
  # has a policy of its own, which we leave alone).
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Stop and disable the system Kannel, whichever init is in charge.
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl disable --now kannel >/dev/null 2>&1 || true
  else
    [ -x /etc/init.d/kannel ] && /etc/init.d/kannel stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null && update-rc.d kannel disable >/dev/null 2>&1 || true
  fi
else
  echo "The SMS tests need: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
