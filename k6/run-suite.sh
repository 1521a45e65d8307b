#!/usr/bin/env bash
# Runs the k6 suite and leaves JSON, text and HTML reports in $K6_RESULTS_DIR (default k6/results).
#
#   k6/run-suite.sh [scenario...]   scenarios: products checkout flash-sale orders bidding ws-fanout soak
#
# With BASE_URL set, the suite targets that deployment (bidding then runs once, under BID_STRATEGY,
# since the server's strategy is not ours to change). Without it, the suite starts the binary
# ($SHOP_CMD, default ./shop) on 127.0.0.1:$SHOP_PORT for each scenario with the settings that scenario
# needs, pinned to core $SHOP_CPUS while k6 runs on $K6_CPUS, and stops it afterwards. REDIS_URL and
# DATABASE_URL pass through to the binary when set; bidding's two strategies need REDIS_URL (without
# it the server ignores BID_STRATEGY, so bidding runs once, filed as bidding-memory, with a warning).
# The open-loop scenarios run at fractions of CAPACITY_RPS (default: terraform/capacity.json).
# Exits non-zero when any scenario failed its thresholds or wrote no summary, after running all of them.
set -uo pipefail
cd "$(dirname "$0")/.."

SCENARIOS=("$@")
ALL="products checkout flash-sale orders bidding ws-fanout soak"
if [ ${#SCENARIOS[@]} -eq 0 ]; then SCENARIOS=(products checkout flash-sale orders bidding ws-fanout); fi
RESULTS="${K6_RESULTS_DIR:-k6/results}"
SHOP_CMD="${SHOP_CMD:-./shop}"
SHOP_PORT="${SHOP_PORT:-8080}"
SHOP_CPUS="${SHOP_CPUS:-0}"
K6_CPUS="${K6_CPUS:-1-$(($(nproc) - 1))}"
K6="${K6:-k6}"
RUN_ID="${RUN_ID:-$(date +%s)}"
export RUN_ID K6_RESULTS_DIR="$RESULTS"
mkdir -p "$RESULTS"

remote=""
if [ -n "${BASE_URL:-}" ]; then remote=1; fi
shop_pid=""

# The suite's own shop enforces credentials as a deployment does (with REDIS_URL or DATABASE_URL it
# refuses to start without them): a run-unique key with every client scope for the scripts' requests,
# and ADMIN_TOKEN (every scope) for setting stock. Against BASE_URL the caller's API_KEY/ADMIN_TOKEN apply.
if [ -z "$remote" ]; then
  API_KEY="${API_KEY:-k6-$RUN_ID-$$}"
  ADMIN_TOKEN="${ADMIN_TOKEN:-k6-admin-$RUN_ID-$$}"
  scopes='"catalog:read","catalog:write","carts","warehouse","stock:write","payments","orders","auctions:write","bids"'
  SHOP_API_KEYS="[{\"name\":\"k6\",\"key\":\"$API_KEY\",\"scopes\":[$scopes]}]"
fi
export API_KEY ADMIN_TOKEN

# The taskset prefix that pins a command to the given cores, when taskset exists and there is more
# than one core (a prefix rather than a function, so it also works after `env`).
pin() {
  if command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ]; then echo "taskset -c $1"; fi
}

stop_shop() {
  if [ -n "$shop_pid" ]; then
    kill -TERM "$shop_pid" 2>/dev/null
    wait "$shop_pid" 2>/dev/null
    shop_pid=""
  fi
}
trap stop_shop EXIT

# start_shop NAME=value... : a fresh server per scenario, so one scenario's data never slows the next.
start_shop() {
  [ -n "$remote" ] && return 0
  stop_shop
  env API_KEYS="$SHOP_API_KEYS" ADMIN_TOKEN="$ADMIN_TOKEN" "$@" PORT="$SHOP_PORT" HOST=127.0.0.1 LOG_LEVEL="${SHOP_LOG_LEVEL:-warn}" SHUTDOWN_DRAIN_MS=0 \
    $(pin "$SHOP_CPUS") $SHOP_CMD --role all >>"$RESULTS/shop.log" 2>&1 &
  shop_pid=$!
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$SHOP_PORT/ready" 2>/dev/null; then return 0; fi
    if ! kill -0 "$shop_pid" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "shop did not become ready; last log lines:" >&2
  tail -n 30 "$RESULTS/shop.log" >&2
  return 1
}

failed=()
# run_k6 STEM SCRIPT [k6 args...]: STEM is the name the script files its summary under.
# k6 only logs a summary it could not write and exits 0, so the old STEM.json is removed first and a
# missing one fails the run.
# The dashboard aggregates every K6_WEB_DASHBOARD_PERIOD and exports nothing for a run shorter than a
# few periods (its default is 10 s; a flash sale lasts seconds), hence 200 ms unless DASHBOARD_PERIOD.
run_k6() {
  local stem=$1 script=$2; shift 2
  echo "::group::k6 $stem" 2>/dev/null
  rm -f "$RESULTS/$stem.json"
  K6_WEB_DASHBOARD=true K6_WEB_DASHBOARD_PORT=-1 K6_WEB_DASHBOARD_EXPORT="$RESULTS/$stem.html" \
    K6_WEB_DASHBOARD_PERIOD="${K6_WEB_DASHBOARD_PERIOD:-${DASHBOARD_PERIOD:-200ms}}" \
    BASE_URL="${BASE_URL:-http://127.0.0.1:$SHOP_PORT}" $(pin "$K6_CPUS") "$K6" run --quiet "$@" "$script" ||
    failed+=("$stem")
  if [ ! -s "$RESULTS/$stem.json" ]; then
    echo "k6 $stem: no summary written to $RESULTS/$stem.json" >&2
    failed+=("$stem (no summary)")
  fi
  echo "::endgroup::" 2>/dev/null
}

for scenario in "${SCENARIOS[@]}"; do
  case "$scenario" in
  products)
    # The seed's three user counts, then the open-loop capacity levels once.
    for vus in 50 100 1000; do
      start_shop || { failed+=("products-$vus"); continue; }
      run_k6 "products-$vus" k6/products.js -e PARTS=seed -e VUS="$vus"
    done
    start_shop || { failed+=(products-capacity); continue; }
    run_k6 products-capacity k6/products.js -e PARTS=capacity
    ;;
  checkout)
    start_shop PAYMENT_SIM_MS=0 || { failed+=(checkout); continue; }
    run_k6 checkout k6/checkout.js
    ;;
  flash-sale)
    start_shop PAYMENT_SIM_MS=0 || { failed+=(flash-sale); continue; }
    run_k6 flash-sale k6/flash-sale.js
    ;;
  orders)
    # The seeds' 3-second payment, so the sync/async comparison is the seeds' experiment.
    start_shop PAYMENT_SIM_MS=3000 || { failed+=(orders); continue; }
    run_k6 orders k6/orders.js -e PAYMENT_MS=3000
    ;;
  bidding)
    if [ -n "$remote" ]; then
      run_k6 "bidding-${BID_STRATEGY:-lua}" k6/bidding.js
    elif [ -z "${REDIS_URL:-}" ]; then
      echo "bidding: REDIS_URL is not set, so the server would ignore BID_STRATEGY and both strategies" \
        "would measure the same in-memory book: running once as bidding-memory. Set REDIS_URL for lua" \
        "and optimistic." >&2
      start_shop || { failed+=(bidding-memory); continue; }
      run_k6 bidding-memory k6/bidding.js -e BID_STRATEGY=memory
    else
      for strategy in lua optimistic; do
        start_shop BID_STRATEGY="$strategy" || { failed+=("bidding-$strategy"); continue; }
        run_k6 "bidding-$strategy" k6/bidding.js -e BID_STRATEGY="$strategy"
      done
    fi
    ;;
  ws-fanout)
    start_shop || { failed+=(ws-fanout); continue; }
    run_k6 ws-fanout k6/ws-fanout.js
    ;;
  soak)
    start_shop || { failed+=(soak); continue; }
    # Minutes long: a coarser dashboard period keeps its HTML small.
    DASHBOARD_PERIOD=10s run_k6 soak k6/soak.js
    ;;
  *)
    echo "unknown scenario $scenario; scenarios: $ALL" >&2
    exit 2
    ;;
  esac
done
stop_shop

if [ ${#failed[@]} -gt 0 ]; then
  echo "k6 suite: failed: ${failed[*]}" >&2
  exit 1
fi
echo "k6 suite: all scenarios passed their thresholds"
