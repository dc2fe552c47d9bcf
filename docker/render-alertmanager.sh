#!/bin/sh
# Render the Alertmanager config template from the environment (Alertmanager cannot do it).
#
#   render-alertmanager.sh TEMPLATE OUTPUT
#
# Only the ALERTMANAGER_* variables listed below are substituted, with the defaults shown (the
# defaults deliver email to the stack's Mailpit). A "# BEGIN slack" ... "# END slack" block is
# kept only when ALERTMANAGER_SLACK_WEBHOOK_URL is set, "smtp_auth" only when
# ALERTMANAGER_SMTP_USERNAME is set. Values are never printed. POSIX sh + sed (busybox is enough).
set -eu

template=${1:?usage: render-alertmanager.sh TEMPLATE OUTPUT}
output=${2:?usage: render-alertmanager.sh TEMPLATE OUTPUT}

: "${ALERTMANAGER_EMAIL_TO:=ops@example.invalid}"
: "${ALERTMANAGER_EMAIL_FROM:=hashwatch@localhost}"
: "${ALERTMANAGER_SMTP_SMARTHOST:=mailpit:1025}"
: "${ALERTMANAGER_SMTP_REQUIRE_TLS:=false}"
: "${ALERTMANAGER_SMTP_USERNAME:=}"
: "${ALERTMANAGER_SMTP_PASSWORD:=}"
: "${ALERTMANAGER_SLACK_WEBHOOK_URL:=}"
: "${ALERTMANAGER_SLACK_CHANNEL:=#mining-alerts}"

case "$ALERTMANAGER_SMTP_REQUIRE_TLS" in
  true|false) ;;
  *) echo "event=render_failed reason=ALERTMANAGER_SMTP_REQUIRE_TLS_must_be_true_or_false" >&2; exit 2 ;;
esac

# sed script built in a private temp file (it holds secrets); removed on exit.
umask 077
script=$(mktemp)
trap 'rm -f "$script"' EXIT

keep_or_drop() {  # block name, variable value
  if [ -z "$2" ]; then
    printf '/# BEGIN %s$/,/# END %s$/d\n' "$1" "$1" >>"$script"
  else
    printf '/# BEGIN %s$/d\n/# END %s$/d\n' "$1" "$1" >>"$script"
  fi
}
keep_or_drop slack "$ALERTMANAGER_SLACK_WEBHOOK_URL"
keep_or_drop smtp_auth "$ALERTMANAGER_SMTP_USERNAME"

for name in ALERTMANAGER_EMAIL_TO ALERTMANAGER_EMAIL_FROM ALERTMANAGER_SMTP_SMARTHOST \
    ALERTMANAGER_SMTP_REQUIRE_TLS ALERTMANAGER_SMTP_USERNAME ALERTMANAGER_SMTP_PASSWORD \
    ALERTMANAGER_SLACK_WEBHOOK_URL ALERTMANAGER_SLACK_CHANNEL; do
  eval "value=\${$name}"
  case "$value" in
    *"
"*) echo "event=render_failed reason=newline_in_value variable=$name" >&2; exit 2 ;;
  esac
  # YAML single-quoted string: ' becomes ''. sed replacement: escape \ & and the | delimiter.
  value=$(printf '%s' "$value" | sed -e "s/'/''/g" -e 's/[\\&|]/\\&/g')
  printf 's|\\${%s}|%s|g\n' "$name" "$value" >>"$script"
done

tmp="$output.tmp"
sed -f "$script" "$template" >"$tmp"
if grep -q '\${' "$tmp"; then
  echo "event=render_failed reason=unknown_placeholder template=$template" >&2
  rm -f "$tmp"
  exit 2
fi
mv "$tmp" "$output"
echo "event=alertmanager_config_rendered output=$output slack=$([ -n "$ALERTMANAGER_SLACK_WEBHOOK_URL" ] && echo on || echo off) smtp_auth=$([ -n "$ALERTMANAGER_SMTP_USERNAME" ] && echo on || echo off)"
