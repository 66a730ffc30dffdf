#!/usr/bin/env bash
# SMTP ingest benchmark: the same load against MailActors and against Postfix -> Dovecot LMTP
# (Maildir, fsync on), in one run. Load: Postfix's smtp-source, 16 concurrent connections,
# messages spread over 100 mailboxes, 50 KB and 5 KB bodies.
#
#   bench/smtp-ingest.sh            # USERS=100 PER_USER=20 SESSIONS=16 SIZES="51200 5120" ROUNDS=3
#
# MailActors answers 250 only when every recipient's mailbox event is durable, so its
# "accepted" rate is its end-to-end delivery rate. For Postfix we report both: accepted
# (smtp-source done) and delivered (every message in the Maildirs' new/ and the queue empty).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
USERS=${USERS:-100}
PER_USER=${PER_USER:-20}
SESSIONS=${SESSIONS:-16}
SIZES=${SIZES:-"51200 5120"}
ROUNDS=${ROUNDS:-3}
TOTAL=$((USERS * PER_USER))

need=()
for p in postfix dovecot-lmtpd dovecot-imapd bc python3; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
id vmail >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin vmail

dotnet build -c Release "$ROOT/src/MailActors.Node" -v quiet -nologo >/dev/null
NODE="$ROOT/src/MailActors.Node/bin/Release/net10.0/MailActors.Node.dll"

W=$(mktemp -d /tmp/ingest.XXXXXX); chmod 755 "$W"
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
now() { date +%s.%N; }
cpu_of() { awk '{print $14+$15}' "/proc/$1/stat"; } # utime+stime in clock ticks
TICKS=$(getconf CLK_TCK)
MAINPID=$BASHPID
cleanup() {
  [ "$BASHPID" = "$MAINPID" ] || return 0 # subshells inherit the trap; only the script cleans up
  [ -n "${NODEPID:-}" ] && kill -9 "$NODEPID" 2>/dev/null || true
  [ -d "$W/pf/conf" ] && postfix -c "$W/pf/conf" stop >/dev/null 2>&1 || true
  [ -f "$W/dc/dovecot.conf" ] && doveadm -c "$W/dc/dovecot.conf" stop >/dev/null 2>&1 || true
  sleep 1; [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

load() { # port size -> seconds
  local port=$1 size=$2 t0 t1
  t0=$(now)
  seq -f "%03g" 0 $((USERS - 1)) | xargs -P "$SESSIONS" -I{} \
    smtp-source -s 1 -m "$PER_USER" -l "$size" -M client.test -f sender@ext.test -t "u{}@bench.test" "127.0.0.1:$port"
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

# A server that has just started is measured after it has seen some mail, as a running one
# has (JIT tiering for MailActors; page cache and process pools for Postfix and Dovecot).
warmup() { # port size
  smtp-source -s "$SESSIONS" -m 500 -l "$2" -M client.test -f sender@ext.test -t warmup@bench.test "127.0.0.1:$1"
}

# ---- MailActors ------------------------------------------------------------------------
ma_round() { # size -> MA_RATE (msg/s), MA_CPU (ms/msg)
  local size=$1 dir="$W/ma-$1-$RANDOM" port; port=$(freeport)
  dotnet "$NODE" --data-dir "$dir" --smtp-port "$port" --http-port 0 --https-port off --submission-port 0 --submissions-port off --domain bench.test --hostname mx.bench >"$dir.log" 2>&1 &
  NODEPID=$!
  for _ in $(seq 600); do grep -q "Press Ctrl+C to stop." "$dir.log" 2>/dev/null && break; sleep 0.1; done
  { seq -f "u%03g@bench.test benchmark-pw-123" 0 $((USERS - 1)); echo "warmup@bench.test benchmark-pw-123"; } > "$dir.users"
  dotnet "$NODE" user import "$dir.users" --data-dir "$dir" --domain bench.test >/dev/null
  warmup "$port" "$size"
  local c0 secs c1
  c0=$(cpu_of "$NODEPID")
  secs=$(load "$port" "$size")
  c1=$(cpu_of "$NODEPID")
  local stored
  stored=$(dotnet "$NODE" user list --data-dir "$dir" | awk '/^u[0-9]+@bench.test/ {s+=$(NF-2)} END {print s+0}')
  kill -TERM "$NODEPID"; wait "$NODEPID" || true; NODEPID="" # SIGINT is ignored by background jobs of a script
  [ "$stored" -eq "$TOTAL" ] || { echo "MailActors stored $stored of $TOTAL" >&2; exit 1; }
  MA_RATE=$(echo "$TOTAL / $secs" | bc -l)
  MA_CPU=$(echo "($c1 - $c0) * 1000 / $TICKS / $TOTAL" | bc -l)
  rm -rf "$dir"
}

# ---- Postfix -> Dovecot LMTP -----------------------------------------------------------
pf_setup() {
  PFPORT=$(freeport); IMAPPORT=$(freeport)
  mkdir -p "$W/pf/conf" "$W/pf/queue" "$W/dc" "$W/mail"
  chown vmail:vmail "$W/mail"
  : > "$W/pf/conf/vmailbox"; : > "$W/dc/users"
  for i in $(seq -f "%03g" 0 $((USERS - 1))); do
    echo "u$i@bench.test OK" >> "$W/pf/conf/vmailbox"
    echo "u$i@bench.test:{PLAIN}pw::::::" >> "$W/dc/users"
  done
  cat > "$W/pf/conf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $W/pf/queue
data_directory = $W/pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = pf.bench
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
disable_dns_lookups = yes
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = bench.test
virtual_mailbox_maps = hash:$W/pf/conf/vmailbox
virtual_transport = lmtp:unix:private/dovecot-lmtp
default_transport = error:outbound disabled
relay_transport = error:outbound disabled
local_transport = error:local disabled
message_size_limit = 52428800
maillog_file_prefixes = $W
maillog_file = $W/pf/maillog
syslog_name = postfix-bench
CF
  printf '%s\n' "127.0.0.1:$PFPORT inet n - n - - smtpd" \
    "pickup unix n - n 60 1 pickup" "cleanup unix n - n - 0 cleanup" "qmgr unix n - n 300 1 qmgr" \
    "rewrite unix - - n - - trivial-rewrite" "bounce unix - - n - 0 bounce" "defer unix - - n - 0 bounce" \
    "trace unix - - n - 0 bounce" "verify unix - - n - 1 verify" "flush unix n - n 1000? 0 flush" \
    "proxymap unix - - n - - proxymap" "smtp unix - - n - - smtp" "relay unix - - n - - smtp" \
    "lmtp unix - - n - - lmtp" "showq unix n - n - - showq" "error unix - - n - - error" \
    "retry unix - - n - - error" "discard unix - - n - - discard" "anvil unix - - n - 1 anvil" \
    "scache unix - - n - 1 scache" "postlog unix-dgram n - n - 1 postlogd" > "$W/pf/conf/master.cf"
  echo "warmup@bench.test OK" >> "$W/pf/conf/vmailbox"
  echo "warmup@bench.test:{PLAIN}pw::::::" >> "$W/dc/users"
  postmap -c "$W/pf/conf" "hash:$W/pf/conf/vmailbox"
  postfix -c "$W/pf/conf" start >/dev/null 2>&1 || { cat "$W/pf/maillog"; exit 1; }
  cat > "$W/dc/dovecot.conf" <<CF
protocols = lmtp imap
listen = 127.0.0.1
base_dir = $W/dc/run
state_dir = $W/dc/state
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = $W/dc/dovecot.log
info_log_path = $W/dc/dovecot-info.log
first_valid_uid = 1
mail_location = maildir:$W/mail/%d/%n
mail_uid = vmail
mail_gid = vmail
passdb {
  driver = passwd-file
  args = $W/dc/users
}
userdb {
  driver = passwd-file
  args = $W/dc/users
  default_fields = uid=vmail gid=vmail home=$W/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAPPORT
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  unix_listener $W/pf/queue/private/dovecot-lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
CF
  dovecot -c "$W/dc/dovecot.conf" >/dev/null 2>&1
  for _ in $(seq 100); do [ -S "$W/pf/queue/private/dovecot-lmtp" ] && break; sleep 0.1; done
}

pf_delivered() { find "$W/mail" -path '*/new/*' -not -path '*/warmup/*' -type f 2>/dev/null | wc -l; }

pf_round() { # size -> PF_ACC, PF_DEL (msg/s), PF_CPU (ms/msg)
  local size=$1 before t0 secs t1 c0 c1
  before=$(pf_delivered)
  c0=$(pf_cpu)
  t0=$(now)
  secs=$(load "$PFPORT" "$size")
  for _ in $(seq 6000); do
    [ "$(pf_delivered)" -ge $((before + TOTAL)) ] && [ -z "$(postqueue -c "$W/pf/conf" -p 2>/dev/null | grep -v 'Mail queue is empty' || true)" ] && break
    sleep 0.05
  done
  t1=$(now)
  c1=$(pf_cpu)
  [ "$(pf_delivered)" -ge $((before + TOTAL)) ] || { echo "Postfix+Dovecot delivered $(( $(pf_delivered) - before )) of $TOTAL" >&2; exit 1; }
  PF_ACC=$(echo "$TOTAL / $secs" | bc -l)
  PF_DEL=$(echo "$TOTAL / ($t1 - $t0)" | bc -l)
  PF_CPU=$(echo "($c1 - $c0) * 1000 / $TICKS / $TOTAL" | bc -l)
}

# CPU of every Postfix and Dovecot process (and their children that exited: cutime/cstime).
pf_cpu() {
  local total=0
  for p in $(pgrep -f "$W/pf|postfix|dovecot|smtpd|cleanup|qmgr|lmtp|trivial-rewrite" || true); do
    [ -r "/proc/$p/stat" ] && total=$((total + $(awk '{print $14+$15+$16+$17}' "/proc/$p/stat")))
  done
  echo "$total"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

pf_setup
for size in $SIZES; do warmup "$PFPORT" "$size"; done
echo "| body | MailActors msg/s (250 = durable in mailbox) | CPU ms/msg | Postfix accepted msg/s | Postfix→Dovecot delivered msg/s | CPU ms/msg | ratio (MailActors / Postfix→Dovecot delivered) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for size in $SIZES; do
  ma=(); pa=(); pd=(); mc=(); pc=()
  for _ in $(seq "$ROUNDS"); do
    ma_round "$size"; ma+=("$MA_RATE"); mc+=("$MA_CPU")
    pf_round "$size"; pa+=("$PF_ACC"); pd+=("$PF_DEL"); pc+=("$PF_CPU")
  done
  m=$(printf '%s\n' "${ma[@]}" | median); d=$(printf '%s\n' "${pd[@]}" | median)
  printf '| %d KB | %.0f | %.1f | %.0f | %.0f | %.1f | %.2f× |\n' $((size / 1024)) "$m" "$(printf '%s\n' "${mc[@]}" | median)" \
    "$(printf '%s\n' "${pa[@]}" | median)" "$d" "$(printf '%s\n' "${pc[@]}" | median)" "$(echo "$m / $d" | bc -l)"
done
echo
echo "$TOTAL messages per round ($USERS mailboxes x $PER_USER), $SESSIONS concurrent connections, median of $ROUNDS rounds; $(date -u +%Y-%m-%dT%H:%MZ)"
