#!/bin/sh
# Regtest helper for the compose stack: gives hashwatch a chain that looks alive.
#
# 1. Once, on a fresh chain: 110 blocks to its own wallet (spendable coins), then 1000 blocks
#    spread over five demo pools with block times ~600 s apart in the past (setmocktime), so the
#    difficulty, hashrate and pool boards (144 and 1008-block windows) have history at once.
# 2. Forever: transactions at spread fee rates (1..250 sat/vB, now and then a burst of high-fee
#    ones so the spike ratio moves), and a block after a random, exponentially distributed wait
#    with mean MINER_BLOCK_SECONDS, credited to a pool picked by weight.
#
# The pool payout addresses are listed in config/docker/regtest-pools.json, which hashwatch
# reads as its pool definitions. They are valid regtest addresses nobody holds the keys of.
# Runs as the image's "bitcoin" user with bitcoin-cli; POSIX sh, awk and od only.
set -eu

BLOCK_SECONDS=${MINER_BLOCK_SECONDS:-60}
TX_PER_BLOCK=${MINER_TX_PER_BLOCK:-40}

POOL_A=bcrt1qzl9thshhekt2neglmn65uz6nzgqhfa8gwqtvxq   # Demo Pool A, weight 28
POOL_B=bcrt1q8zy8fcwuuw870ccwyjc98m4eel2kxwcx47tstl   # Demo Pool B, weight 20
POOL_C=bcrt1q26ve3vv0s4e8s7ppmakgwcxcnvl4vgxq0y4n2d   # Demo Pool C, weight 17
POOL_D=bcrt1qt3scy79jyuq9wxtxhjz04yqanjnrea8gxgq946   # Demo Pool D, weight 13
POOL_E=bcrt1qjl8gugw483sy6t6khk9d3m0gwham9pjm6s6j5e   # Demo Pool E, weight 10
# remaining weight 12: the miner's own wallet (an unknown miner for hashwatch)

cli() { bitcoin-cli -regtest -rpcconnect=bitcoind -rpccookiefile=/cookie/.cookie "$@"; }
wallet() { cli -rpcwallet=miner "$@"; }
log() { echo "event=$*"; }
rand() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }   # 0..65535

pick_payout() {
  r=$(( $(rand) % 100 ))
  if [ "$r" -lt 28 ]; then echo "$POOL_A"
  elif [ "$r" -lt 48 ]; then echo "$POOL_B"
  elif [ "$r" -lt 65 ]; then echo "$POOL_C"
  elif [ "$r" -lt 78 ]; then echo "$POOL_D"
  elif [ "$r" -lt 88 ]; then echo "$POOL_E"
  else echo "$OWN"
  fi
}

exp_wait() {  # an exponential random wait with mean $1 seconds, at least 1
  awk -v r="$(rand)" -v m="$1" 'BEGIN { w = int(-m * log((r + 1) / 65537)); print (w < 1 ? 1 : w) }'
}

pick_fee() {  # fee rate in sat/vB, most of them cheap, a tail of expensive ones
  set -- 1 1 2 2 3 3 4 5 5 6 8 8 10 12 15 20 25 30 40 60 80 100 150 250
  shift $(( $(rand) % $# ))
  echo "$1"
}

until cli getblockchaininfo >/dev/null 2>&1; do
  log "waiting_for_node"
  sleep 2
done

if ! wallet getwalletinfo >/dev/null 2>&1; then
  cli loadwallet miner >/dev/null 2>&1 \
    || cli -named createwallet wallet_name=miner load_on_startup=true >/dev/null
fi
OWN=$(wallet getnewaddress own bech32)
SINK=$(wallet getnewaddress sink bech32)

height=$(cli getblockcount)
if [ "$height" -lt 1110 ]; then
  log "bootstrap_started height=$height"
  now=$(date +%s)
  t=$(( now - (1110 - height) * 600 ))
  while [ "$height" -lt 1110 ]; do
    if [ "$height" -lt 110 ]; then payout=$OWN; else payout=$(pick_payout); fi
    t=$(( t + $(exp_wait 600) ))
    [ "$t" -gt "$now" ] && t=$now
    cli setmocktime "$t" >/dev/null
    cli generatetoaddress 1 "$payout" >/dev/null
    height=$(( height + 1 ))
  done
  cli setmocktime 0 >/dev/null
  log "bootstrap_done height=$height"
fi

touch /tmp/miner.ready
blocks=0
while :; do
  wait_s=$(exp_wait "$BLOCK_SECONDS")
  per_tx=$(( wait_s / (TX_PER_BLOCK + 1) ))
  [ "$per_tx" -lt 1 ] && per_tx=1
  sent=0
  burst=$(( blocks % 20 == 19 ))
  start=$(date +%s)
  while [ $(( $(date +%s) - start )) -lt "$wait_s" ]; do
    if [ "$sent" -lt "$TX_PER_BLOCK" ]; then
      if [ "$burst" -eq 1 ]; then fee=$(( 150 + $(rand) % 350 )); else fee=$(pick_fee); fi
      wallet -named sendtoaddress address="$SINK" amount=0.0001 fee_rate="$fee" >/dev/null \
        || log "send_failed fee_rate=$fee"
      sent=$(( sent + 1 ))
    fi
    sleep "$per_tx"
  done
  payout=$(pick_payout)
  cli generatetoaddress 1 "$payout" >/dev/null
  blocks=$(( blocks + 1 ))
  log "block_mined height=$(cli getblockcount) transactions_sent=$sent burst=$burst"
done
