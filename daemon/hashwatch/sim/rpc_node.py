"""Mempool, mining, fee estimation, network and regtest-control RPCs."""

from __future__ import annotations

import time
from typing import Any

from . import consensus as cs
from .addresses import script_for_address
from .mempool import Entry, MempoolError
from .rpc_chain import WARNING, network_hashps
from .rpc_methods import (
    RPC_INVALID_ADDRESS_OR_KEY,
    RPC_INVALID_PARAMETER,
    RPC_MISC_ERROR,
    Amount,
    Arg,
    Real,
    RPCError,
    parse_hash,
    rpc,
)

MAX_BLOCK_WEIGHT = 4_000_000
RESERVED_WEIGHT = 8_000  # Core's default -blockreservedweight (coinbase, header)
NO_FEE_DATA = "Insufficient data or no feerate found"


# ----- mempool ---------------------------------------------------------------------------
def entry_json(node: Any, e: Entry) -> dict:
    chunk_fee, chunk_weight = node.mempool.chunk(e)
    return {
        "vsize_adjusted": e.vsize, "vsize": e.vsize, "vsize_bip141": e.vsize,
        "weight": e.weight, "time": e.time, "height": e.height,
        "descendantcount": e.desc_count, "descendantsize": e.desc_size,
        "ancestorcount": e.anc_count, "ancestorsize": e.anc_size,
        "wtxid": e.wtxid, "chunkweight": chunk_weight,
        "fees": {"base": Amount(e.fee), "modified": Amount(e.fee),
                 "ancestor": Amount(e.anc_fee), "descendant": Amount(e.desc_fee),
                 "chunk": Amount(chunk_fee)},
        "depends": list(e.parents),
        "spentby": list(e.children or ()),
        "unbroadcast": False,
    }


def _entry(node: Any, txid: Any) -> Entry:
    e = node.mempool.entries.get(parse_hash(txid, "txid"))
    if e is None:
        raise RPCError(RPC_INVALID_ADDRESS_OR_KEY, "Transaction not in mempool")
    return e


@rpc("blockchain", "Returns details on the active state of the TX memory pool.")
def getmempoolinfo(node: Any) -> dict:
    mp = node.mempool
    return {
        "loaded": True, "size": len(mp), "bytes": mp.total_vsize, "usage": mp.usage,
        "total_fee": Amount(mp.total_fee), "maxmempool": mp.maxmempool,
        "mempoolminfee": Amount(mp.mempoolminfee()), "minrelaytxfee": Amount(mp.minrelay),
        "incrementalrelayfee": Amount(mp.incremental), "unbroadcastcount": 0,
        "permitbaremultisig": True, "maxdatacarriersize": 100000,
        "limitclustercount": 64, "limitclustersize": 101000, "optimal": True,
    }


@rpc("blockchain", "Returns all transaction ids in memory pool.",
     Arg("verbose", "bool"), Arg("mempool_sequence", "bool"))
def getrawmempool(node: Any, verbose: bool | None = False,
                  mempool_sequence: bool | None = False) -> Any:
    mp = node.mempool
    if verbose:
        if mempool_sequence:
            raise RPCError(RPC_INVALID_PARAMETER,
                           "Verbose results cannot contain mempool sequence values.")
        return {t: entry_json(node, e) for t, e in mp.entries.items()}
    if mempool_sequence:
        return {"txids": mp.txids(), "mempool_sequence": mp.sequence}
    return mp.txids()


@rpc("blockchain", "Returns mempool data for given transaction", Arg("txid", "string", True))
def getmempoolentry(node: Any, txid: str) -> dict:
    return entry_json(node, _entry(node, txid))


@rpc("blockchain", "If txid is in the mempool, returns all in-mempool ancestors.",
     Arg("txid", "string", True), Arg("verbose", "bool"))
def getmempoolancestors(node: Any, txid: str, verbose: bool | None = False) -> Any:
    ids = node.mempool.ancestors(_entry(node, txid))
    if verbose:
        return {t: entry_json(node, node.mempool.entries[t]) for t in ids}
    return sorted(ids)


@rpc("blockchain", "If txid is in the mempool, returns all in-mempool descendants.",
     Arg("txid", "string", True), Arg("verbose", "bool"))
def getmempooldescendants(node: Any, txid: str, verbose: bool | None = False) -> Any:
    ids = node.mempool.descendants(_entry(node, txid))
    if verbose:
        return {t: entry_json(node, node.mempool.entries[t]) for t in ids}
    return sorted(ids)


# ----- fee estimation ------------------------------------------------------------------
def _fee_data_available(node: Any) -> bool:
    """Like Core's estimator: needs blocks that confirmed transactions it watched."""
    chain = node.chain
    seen = 0
    for h in range(chain.height, max(-1, chain.height - 12), -1):
        blk = chain.at(h)
        if blk is not None and (blk.txs is None or blk.txs):
            seen += 1
    return seen >= 3


def _economical(node: Any, target: int) -> float:
    """sat/vB: the rate at target MvB of mempool depth, else recent blocks' low end."""
    rates = node.fee_ladder()
    depth = target * (MAX_BLOCK_WEIGHT - RESERVED_WEIGHT) // 4
    for cum_vsize, rate in rates:
        if cum_vsize >= depth:
            return rate
    recent = []
    for h in range(node.chain.height, max(-1, node.chain.height - 6), -1):
        txs = node.chain.block_txs(node.chain.at(h))
        if txs:
            ordered = sorted(t.fee / t.vsize for t in txs)
            recent.append(ordered[len(ordered) // 10])
    base = sorted(recent)[len(recent) // 2] if recent else 1.0
    return base / (1 + (target - 2) / 24)


@rpc("util", "Estimates the approximate fee per kilobyte needed for a transaction to begin "
     "confirmation within conf_target blocks.",
     Arg("conf_target", "number", True), Arg("estimate_mode", "string"))
def estimatesmartfee(node: Any, conf_target: int, estimate_mode: str | None = None) -> dict:
    target = int(conf_target)
    if target < 1 or target > 1008:
        raise RPCError(RPC_INVALID_PARAMETER, "Invalid conf_target, must be between 1 and 1008")
    mode = (estimate_mode or "unset").lower()
    if mode not in ("unset", "economical", "conservative"):
        raise RPCError(RPC_INVALID_PARAMETER, 'Invalid estimate_mode parameter, must be one '
                       'of: "unset", "economical", "conservative"')
    target = max(2, target)
    if not _fee_data_available(node):
        return {"errors": [NO_FEE_DATA], "blocks": 0}
    rate = _economical(node, target)
    if mode == "conservative":
        rate = max(rate, _economical(node, max(2, target // 2)) * 1.05)
    floor = node.mempool.mempoolminfee() / 1000
    sat_kvb = max(rate, floor) * 1000
    return {"feerate": Amount(round(sat_kvb)), "blocks": target}


# ----- mining ----------------------------------------------------------------------------
@rpc("mining", "Returns a json object containing mining-related information.")
def getmininginfo(node: Any) -> dict:
    chain = node.chain
    tip = chain.tip
    nbits = chain.next_bits(tip)
    out = {"blocks": tip.height}
    if node.last_template is not None:
        out["currentblockweight"] = node.last_template[0]
        out["currentblocktx"] = node.last_template[1]
    out.update({
        "bits": cs.bits_hex(tip.bits), "difficulty": Real(cs.difficulty(tip.bits)),
        "target": cs.target_hex(tip.bits),
        "networkhashps": Real(network_hashps(node, 120, -1)),
        "pooledtx": len(node.mempool), "blockmintxfee": Amount(1), "chain": chain.params.name,
        "next": {"height": tip.height + 1, "bits": cs.bits_hex(nbits),
                 "difficulty": Real(cs.difficulty(nbits)), "target": cs.target_hex(nbits)},
        "warnings": [WARNING],
    })
    return out


@rpc("mining", "Returns data needed to construct a block to work on.",
     Arg("template_request", "object"))
def getblocktemplate(node: Any, template_request: dict | None = None) -> dict:
    rules = (template_request or {}).get("rules") or []
    if "segwit" not in rules:
        raise RPCError(RPC_INVALID_PARAMETER, 'getblocktemplate must be called with the segwit '
                       'rule set (call with {"rules": ["segwit"]})')
    chain = node.chain
    tip = chain.tip
    entries = node.block_template_entries()
    index = {e.txid: i + 1 for i, e in enumerate(entries)}
    txs = []
    for e in entries:
        size = e.weight - 3 * (e.weight // 5)
        txs.append({"data": (bytes.fromhex(e.txid) * (size // 32 + 1))[:size].hex(),
                    "txid": e.txid, "hash": e.wtxid,
                    "depends": [index[p] for p in e.parents if p in index],
                    "fee": e.fee, "sigops": 4, "weight": e.weight})
    bits = chain.next_bits(tip)
    fees = sum(e.fee for e in entries)
    now = int(node.clock.now())
    return {
        "capabilities": ["proposal"], "version": 0x20000000,
        "rules": ["csv", "!segwit", "taproot"], "vbavailable": {}, "vbrequired": 0,
        "previousblockhash": tip.hash, "transactions": txs, "coinbaseaux": {},
        "coinbasevalue": cs.block_subsidy(tip.height + 1, chain.params) + fees,
        "longpollid": f"{tip.hash}{node.mempool.sequence}",
        "target": cs.target_hex(bits), "mintime": chain.median_time_past(tip) + 1,
        "mutable": ["time", "transactions", "prevblock"], "noncerange": "00000000ffffffff",
        "sigoplimit": 80000, "sizelimit": 4000000, "weightlimit": MAX_BLOCK_WEIGHT,
        "curtime": max(now, chain.median_time_past(tip) + 1), "bits": cs.bits_hex(bits),
        "height": tip.height + 1,
        "default_witness_commitment": "6a24aa21a9ed" + tip.hash,
    }


# ----- network / node --------------------------------------------------------------------
@rpc("control", "Returns the total uptime of the server.")
def uptime(node: Any) -> int:
    return int(time.monotonic() - node.started_at)


@rpc("network", "Returns the number of connections to other nodes.")
def getconnectioncount(node: Any) -> int:
    return len(node.peers())


@rpc("network", "Returns information about network traffic.")
def getnettotals(node: Any) -> dict:
    up = int(time.monotonic() - node.started_at)
    return {"totalbytesrecv": 150_000 * up * bool(node.peers()),
            "totalbytessent": 90_000 * up * bool(node.peers()),
            "timemillis": int(node.clock.now() * 1000),
            "uploadtarget": {"timeframe": 86400, "target": 0, "target_reached": False,
                             "serve_historical_blocks": True, "bytes_left_in_cycle": 0,
                             "time_left_in_cycle": 0}}


@rpc("network", "Returns data about each connected network peer.")
def getpeerinfo(node: Any) -> list:
    return node.peers()


@rpc("network", "Returns an object containing various state info regarding P2P networking.")
def getnetworkinfo(node: Any) -> dict:
    n = len(node.peers())
    nets = [{"name": name, "limited": lim, "reachable": not lim, "proxy": "",
             "proxy_randomize_credentials": False}
            for name, lim in (("ipv4", False), ("ipv6", False), ("onion", True),
                              ("i2p", True), ("cjdns", True))]
    return {
        "version": 300000, "subversion": "/Satoshi:30.0.0/", "protocolversion": 70016,
        "localservices": "0000000000000c09",
        "localservicesnames": ["NETWORK", "WITNESS", "NETWORK_LIMITED", "P2P_V2"],
        "localrelay": True, "timeoffset": 0, "tx_send_rate": 14,
        "inv_buckets": {d: {"backlog": 0, "count_tok": Real(400.0), "size_tok": Real(12e6)}
                        for d in ("inbound", "outbound")},
        "networkactive": True, "connections": n,
        "connections_in": 0, "connections_out": n, "networks": nets,
        "relayfee": Amount(node.mempool.minrelay),
        "incrementalfee": Amount(node.mempool.incremental), "localaddresses": [],
        "warnings": [WARNING],
    }


@rpc("zmq", "Returns information about the active ZeroMQ notifications.")
def getzmqnotifications(node: Any) -> list:
    return node.zmq.notifications() if node.zmq else []


@rpc("blockchain", "Returns the status of one or all available indices.")
def getindexinfo(node: Any) -> dict:
    return {}


@rpc("control", "Returns an object containing information about memory usage.")
def getmemoryinfo(node: Any) -> dict:
    return {"locked": {"used": 608, "free": 261536, "total": 262144, "locked": 262144,
                       "chunks_used": 9, "chunks_free": 3}}


# ----- regtest-style control -------------------------------------------------------------
@rpc("generating", "Mine blocks immediately to a specified address.",
     Arg("nblocks", "number", True), Arg("address", "string", True), Arg("maxtries", "number"))
def generatetoaddress(node: Any, nblocks: int, address: str, maxtries: int | None = None) -> list:
    try:
        script_for_address(address)
    except (ValueError, IndexError):
        raise RPCError(RPC_INVALID_ADDRESS_OR_KEY, "Error: Invalid address") from None
    return node.mine(int(nblocks), address=address)


@rpc("hidden", "Permanently marks a block as invalid, as if it violated a consensus rule.",
     Arg("blockhash", "string", True))
def invalidateblock(node: Any, blockhash: str) -> None:
    blk = node.chain.find(parse_hash(blockhash, "blockhash"))
    if blk is None:
        raise RPCError(RPC_INVALID_ADDRESS_OR_KEY, "Block not found")
    try:
        node.invalidate(blk)
    except Exception as exc:  # ChainError
        raise RPCError(RPC_MISC_ERROR, str(exc)) from None


@rpc("hidden", "Removes invalidity status of a block, its ancestors and its descendants.",
     Arg("blockhash", "string", True))
def reconsiderblock(node: Any, blockhash: str) -> None:
    blk = node.chain.find(parse_hash(blockhash, "blockhash"))
    if blk is None:
        raise RPCError(RPC_INVALID_ADDRESS_OR_KEY, "Block not found")
    node.reconsider(blk)


@rpc("hidden", "Set the local time to given timestamp (0 to go back to the running clock).",
     Arg("timestamp", "number", True))
def setmocktime(node: Any, timestamp: int) -> None:
    if int(timestamp) < 0:
        raise RPCError(RPC_INVALID_PARAMETER, f"Mocktime cannot be negative: {timestamp}.")
    if int(timestamp) > 0:
        node.clock.set(int(timestamp))


@rpc("hidden", "Simulator only: add a mempool transaction (vsize, fee in sat, parents).",
     Arg("vsize", "number", True), Arg("fee", "number", True), Arg("parents", "array"))
def simaddtx(node: Any, vsize: int, fee: int, parents: list | None = None) -> str:
    try:
        return node.mempool.add_tx(int(vsize), int(fee), tuple(parents or ()))
    except MempoolError as exc:
        raise RPCError(-26, str(exc)) from None
