#!/usr/bin/env bash
# Gateway read benchmark: HTTP throughput and tail latency of the message list,
#   GET /v1/folders/inbox/messages?limit=50   (Authorization: Bearer, the first page, newest first)
# on a mailbox holding 10,000 messages of ~5 KB, driven by wrk (Debian) with 2 threads.
# Target: >= 10,000 req/s and p99 < 5 ms on a 2-core machine, where wrk and the node share
# the two cores (so the CPU split between them is reported as well).
#
#   bench/gateway-read.sh            # MESSAGES=10000 SIZE=5120 CONNS=32 DURATION=20s ROUNDS=3 WARMUP=10s
#   CONNS="16 64" bench/gateway-read.sh      # one summary line per connection count
#   KEEP=1 bench/gateway-read.sh             # keep the temp dir (node log, wrk outputs)
#   DOTNET_gcServer=1 bench/gateway-read.sh           # DOTNET_* runtime knobs reach the node
#
# Steps: build Release, start one node on free ports with a temp data dir, sign up and log in
# through the API, seed the inbox over SMTP with Postfix's smtp-source (each 250 means the
# message is durable in the mailbox) and wait until GET /v1/account counts them all, check one
# response with curl (200, 50 items, size), warm up with wrk (WARMUP, 10 s), then ROUNDS wrk runs per
# connection count. Per round: requests/s, p99 (wrk --latency), and CPU of the node, of wrk
# and of everything else on the machine, in % of one core (200% = both cores busy).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MESSAGES=${MESSAGES:-10000}
SIZE=${SIZE:-5120}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-10s}
ROUNDS=${ROUNDS:-3}
SEED_SESSIONS=${SEED_SESSIONS:-16}
USER_ADDR=reader@bench.test
PASSWORD="correct horse battery"

need=()
for p in wrk postfix python3 curl bc; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

dotnet build -c Release "$ROOT/src/MailActors.Node" -v quiet -nologo >/dev/null
NODE="$ROOT/src/MailActors.Node/bin/Release/net10.0/MailActors.Node.dll"

W=$(mktemp -d /tmp/gateway-read.XXXXXX)
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
now() { date +%s.%N; }
cpu_of() { awk '{print $14+$15}' "/proc/$1/stat"; }        # utime+stime in clock ticks
children_cpu() { awk '{print $16+$17}' "/proc/$1/stat"; } # cutime+cstime: reaped children (wrk)
machine_busy() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9}' /proc/stat; } # user nice system irq softirq steal
TICKS=$(getconf CLK_TCK)
MAINPID=$BASHPID
fail() {
  echo "gateway-read: $*" >&2
  if [ -f "$W/node.log" ]; then echo "---- node log (tail) ----" >&2; tail -n 40 "$W/node.log" >&2; fi
  exit 1
}
cleanup() {
  [ "$BASHPID" = "$MAINPID" ] || return 0 # subshells inherit the trap; only the script cleans up
  if [ -n "${NODEPID:-}" ] && kill -0 "$NODEPID" 2>/dev/null; then
    kill -TERM "$NODEPID" 2>/dev/null || true # SIGINT is ignored by background jobs of a script
    for _ in $(seq 100); do kill -0 "$NODEPID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$NODEPID" 2>/dev/null; then
      echo "note: the node did not stop within 10 s of SIGTERM; killed" >&2
      kill -9 "$NODEPID" 2>/dev/null || true
    fi
    wait "$NODEPID" 2>/dev/null || true
  fi
  if [ -n "${KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT

# ---- node ------------------------------------------------------------------------------
SMTP=$(freeport); HTTP=$(freeport)
BASE="http://127.0.0.1:$HTTP"
dotnet "$NODE" --data-dir "$W/data" --domain bench.test --hostname mx.bench.test \
  --smtp-port "$SMTP" --http-port "$HTTP" --https-port off \
  --submission-port "$(freeport)" --submissions-port off --imap-port "$(freeport)" --pop3-port "$(freeport)" >"$W/node.log" 2>&1 &
NODEPID=$!
for _ in $(seq 600); do
  curl -sf "$BASE/health/ready" >/dev/null 2>&1 && break
  kill -0 "$NODEPID" 2>/dev/null || fail "node exited during start-up"
  sleep 0.1
done
curl -sf "$BASE/health/ready" >/dev/null || fail "node not ready after 60 s"

# ---- account ---------------------------------------------------------------------------
CREDS=$(python3 -c 'import json,sys;print(json.dumps({"address":sys.argv[1],"password":sys.argv[2]}))' "$USER_ADDR" "$PASSWORD")
code=$(curl -s -o "$W/signup.json" -w '%{http_code}' -H 'Content-Type: application/json' -d "$CREDS" "$BASE/v1/auth/signup")
[ "$code" = 201 ] || fail "signup answered $code: $(cat "$W/signup.json")"
code=$(curl -s -o "$W/login.json" -w '%{http_code}' -H 'Content-Type: application/json' -d "$CREDS" "$BASE/v1/auth/login")
[ "$code" = 200 ] || fail "login answered $code: $(cat "$W/login.json")"
TOKEN=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["token"])' "$W/login.json")
AUTH="Authorization: Bearer $TOKEN"
message_count() { curl -sf -H "$AUTH" "$BASE/v1/account" | python3 -c 'import json,sys;print(json.load(sys.stdin)["messageCount"])'; }

# ---- seed ------------------------------------------------------------------------------
t0=$(now)
smtp-source -d -s "$SEED_SESSIONS" -m "$MESSAGES" -l "$SIZE" -M client.test -S "benchmark message" \
  -f sender@remote.test -t "$USER_ADDR" "127.0.0.1:$SMTP" || fail "smtp-source failed"
count=0
for _ in $(seq 600); do
  count=$(message_count) || fail "GET /v1/account failed"
  [ "$count" -ge "$MESSAGES" ] && break
  sleep 0.1
done
[ "$count" -eq "$MESSAGES" ] || fail "inbox holds $count of $MESSAGES messages"
t1=$(now)
printf 'seeded %d messages of %d B payload in %.1f s (%.0f msg/s over SMTP, %d sessions)\n' \
  "$MESSAGES" "$SIZE" "$(echo "$t1 - $t0" | bc -l)" "$(echo "$MESSAGES / ($t1 - $t0)" | bc -l)" "$SEED_SESSIONS"

# ---- one response, checked -------------------------------------------------------------
URL="$BASE/v1/folders/inbox/messages?limit=50"
read -r code bytes < <(curl -s -o "$W/page.json" -w '%{http_code} %{size_download}\n' -H "$AUTH" "$URL")
[ "$code" = 200 ] || fail "GET $URL answered $code: $(head -c 500 "$W/page.json")"
items=$(python3 -c 'import json,sys;print(len(json.load(open(sys.argv[1]))["items"]))' "$W/page.json")
[ "$items" = 50 ] || fail "GET $URL returned $items items, expected 50"
echo "check: GET /v1/folders/inbox/messages?limit=50 -> $code, $items items, $bytes bytes (uncompressed JSON)"

# ---- wrk -------------------------------------------------------------------------------
to_ms() { # wrk latency (e.g. 812.00us, 1.23ms, 1.01s) -> ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# wrk runs in the foreground, so its CPU shows up in this shell's cutime once it is reaped.
run_wrk() { # conns duration out -> RPS P99 NODE_CPU WRK_CPU OTHER_CPU (% of one core)
  local conns=$1 dur=$2 out=$3 t0 t1 n0 n1 w0 w1 m0 m1 secs
  t0=$(now); n0=$(cpu_of "$NODEPID"); w0=$(children_cpu "$MAINPID"); m0=$(machine_busy)
  wrk -t"$THREADS" -c"$conns" -d"$dur" --latency -H "$AUTH" "$URL" >"$out" 2>&1 || fail "wrk failed: $(cat "$out")"
  t1=$(now); n1=$(cpu_of "$NODEPID"); w1=$(children_cpu "$MAINPID"); m1=$(machine_busy)
  kill -0 "$NODEPID" 2>/dev/null || fail "node died during wrk"
  if grep -qE 'Non-2xx|Socket errors' "$out"; then
    echo "warning: wrk reported errors (c=$conns):" >&2; grep -E 'Non-2xx|Socket errors' "$out" >&2
  fi
  RPS=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  P99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  P50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  [ -n "$RPS" ] || fail "no Requests/sec in wrk output: $(cat "$out")"
  secs=$(echo "$t1 - $t0" | bc -l)
  NODE_CPU=$(echo "($n1 - $n0) * 100 / $TICKS / $secs" | bc -l)
  WRK_CPU=$(echo "($w1 - $w0) * 100 / $TICKS / $secs" | bc -l)
  OTHER_CPU=$(echo "($m1 - $m0) * 100 / $TICKS / $secs - $NODE_CPU - $WRK_CPU" | bc -l)
}

run_wrk 16 "$WARMUP" "$W/wrk-warmup.txt"
printf 'warm-up %s: %.0f req/s\n' "$WARMUP" "$RPS"

summaries=()
for c in $CONNS; do
  rps=(); p99=(); desc=()
  for r in $(seq "$ROUNDS"); do
    run_wrk "$c" "$DURATION" "$W/wrk-c$c-r$r.txt"
    rps+=("$RPS"); p99+=("$P99")
    busy=$(awk -v o="$OTHER_CPU" 'BEGIN { if (o > 20) print "  <- other load on the machine, not a clean round" }')
    printf 'c=%-3d round %d: %8.0f req/s  p50 %5.2f ms  p99 %5.2f ms  CPU node %3.0f%%  wrk %3.0f%%  other %3.0f%%  (%.2f ms node CPU/req)%s\n' \
      "$c" "$r" "$RPS" "$P50" "$P99" "$NODE_CPU" "$WRK_CPU" "$OTHER_CPU" "$(echo "$NODE_CPU * 10 / $RPS" | bc -l)" "$busy"
    desc+=("$(printf '%.0f/%.2f' "$RPS" "$P99")")
  done
  mr=$(printf '%s\n' "${rps[@]}" | median); mp=$(printf '%s\n' "${p99[@]}" | median)
  verdict=$(awk -v r="$mr" -v p="$mp" 'BEGIN { print (r >= 10000 && p < 5) ? "target met" : "target missed" }')
  summaries+=("$(printf 'gateway-read: median %.0f req/s, p99 %.2f ms (c=%d, rounds req/s/p99ms: %s) -- %s (>= 10000 req/s, p99 < 5 ms)' \
    "$mr" "$mp" "$c" "${desc[*]}" "$verdict")")
done
echo
printf '%s\n' "${summaries[@]}"
knobs=$(env | grep -E '^(DOTNET|COMPlus)_' | grep -vE '^DOTNET_(CLI_|NOLOGO|GENERATE_|ROOT|SKIP_)' | sort | tr '\n' ' ' || true)
echo "$MESSAGES messages x $SIZE B in the inbox, wrk -t$THREADS -d$DURATION, median of $ROUNDS rounds, $(nproc) cores; CPU in % of one core; runtime knobs: ${knobs:-none}; $(date -u +%Y-%m-%dT%H:%MZ)"
