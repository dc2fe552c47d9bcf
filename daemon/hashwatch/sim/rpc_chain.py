"""Blockchain RPCs: headers, blocks, block stats, tips, difficulty and hash rate.

Field names, order and types follow Bitcoin Core (see tests/fixtures/core/).
"""

from __future__ import annotations

from typing import Any

from . import consensus as cs
from .coinbase import describe_output
from .records import Block, header_bytes, tx_base_size, tx_total_size
from .rpc_methods import (
    RPC_INVALID_ADDRESS_OR_KEY,
    RPC_INVALID_PARAMETER,
    RPC_TYPE_ERROR,
    Amount,
    Arg,
    Real,
    RPCError,
    json_type,
    parse_hash,
    rpc,
)

WARNING = "This is a simulated node (hashwatch.sim) - not a real Bitcoin Core"


def _block(node: Any, value: Any, name: str = "blockhash") -> Block:
    blk = node.chain.find(parse_hash(value, name))
    if blk is None:
        raise RPCError(RPC_INVALID_ADDRESS_OR_KEY, "Block not found")
    return blk


def _height_arg(node: Any, height: int) -> Block:
    blk = node.chain.at(height)
    if blk is None:
        raise RPCError(RPC_INVALID_PARAMETER, "Block height out of range")
    return blk


def _sizes(node: Any, blk: Block) -> tuple[int, int, int, int]:
    """(size, strippedsize, weight, nTx) of a block from its txs' sizes."""
    txs = node.chain.block_txs(blk)
    cb = node.chain.coinbase(blk)
    ntx = len(txs) + 1
    var = 1 if ntx < 0xFD else 3
    size = 80 + var + cb["size"] + sum(tx_total_size(t.weight) for t in txs)
    stripped = 80 + var + cb["stripped_size"] + sum(tx_base_size(t.weight) for t in txs)
    return size, stripped, stripped * 3 + size, ntx


def header_json(node: Any, blk: Block) -> dict:
    chain = node.chain
    active = chain.is_active(blk)
    out: dict[str, Any] = {
        "hash": blk.hash,
        "confirmations": chain.height - blk.height + 1 if active else -1,
        "height": blk.height,
        "version": blk.version,
        "versionHex": f"{blk.version & 0xFFFFFFFF:08x}",
        "merkleroot": blk.merkleroot,
        "time": blk.time,
        "mediantime": chain.median_time_past(blk),
        "nonce": blk.nonce,
        "bits": cs.bits_hex(blk.bits),
        "target": cs.target_hex(blk.bits),
        "difficulty": Real(cs.difficulty(blk.bits)),
        "chainwork": cs.chainwork_hex(blk.chainwork),
        "nTx": blk.ntx_hint if blk.txs is None else len(blk.txs) + 1,
    }
    if blk.height > 0:
        out["previousblockhash"] = chain.parent(blk).hash
    if active and blk.height < chain.height:
        out["nextblockhash"] = chain.at(blk.height + 1).hash
    return out


@rpc("blockchain", "Returns the height of the most-work fully-validated chain.")
def getblockcount(node: Any) -> int:
    return node.chain.height


@rpc("blockchain", "Returns the hash of the best (tip) block in the most-work chain.")
def getbestblockhash(node: Any) -> str:
    return node.chain.tip.hash


@rpc("blockchain", "Returns hash of block in best-block-chain at height provided.",
     Arg("height", "number", True))
def getblockhash(node: Any, height: int) -> str:
    return _height_arg(node, int(height)).hash


@rpc("blockchain", "Returns the proof-of-work difficulty as a multiple of the minimum.")
def getdifficulty(node: Any) -> Real:
    return Real(cs.difficulty(node.chain.tip.bits))


@rpc("blockchain", "Returns an object containing various state info regarding blockchain "
     "processing.")
def getblockchaininfo(node: Any) -> dict:
    chain = node.chain
    tip = chain.tip
    behind = getattr(node, "ibd_headers_ahead", 0)
    return {
        "chain": chain.params.name,
        "blocks": tip.height,
        "headers": tip.height + behind,
        "bestblockhash": tip.hash,
        "bits": cs.bits_hex(tip.bits),
        "target": cs.target_hex(tip.bits),
        "difficulty": Real(cs.difficulty(tip.bits)),
        "time": tip.time,
        "mediantime": chain.median_time_past(tip),
        "verificationprogress": Real(tip.height / (tip.height + behind) if behind else 1.0),
        "initialblockdownload": bool(behind),
        "chainwork": cs.chainwork_hex(tip.chainwork),
        "size_on_disk": 30_000 + tip.height * (800_000 if chain.params.name == "main" else 300),
        "pruned": False,
        "warnings": [WARNING],
    }


@rpc("blockchain", "Return information about the block header.",
     Arg("blockhash", "string", True), Arg("verbose", "bool"))
def getblockheader(node: Any, blockhash: str, verbose: bool | None = True) -> Any:
    blk = _block(node, blockhash, "hash")
    if verbose is False:
        prev = blk.prev if blk.height > 0 else None
        return header_bytes(blk.version, prev, blk.merkleroot, blk.time, blk.bits,
                            blk.nonce).hex()
    return header_json(node, blk)


def _verbosity(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool):
        return 1 if value else 0
    if not isinstance(value, (int, float)):
        raise RPCError(RPC_TYPE_ERROR,
                       f"JSON value of type {json_type(value)} is not of expected type number")
    return int(value)


def _raw_block_hex(node: Any, blk: Block) -> str:
    cb = node.chain.coinbase(blk)
    txs = node.chain.block_txs(blk)
    ntx = len(txs) + 1
    count = bytes([ntx]) if ntx < 0xFD else b"\xfd" + ntx.to_bytes(2, "little")
    head = header_bytes(blk.version, blk.prev, blk.merkleroot, blk.time, blk.bits, blk.nonce)
    parts = [head.hex(), count.hex(), cb["hex"]]
    for t in txs:  # stand-in bytes of the right length: the simulator has no scripts
        size = tx_total_size(t.weight)
        parts.append((bytes.fromhex(t.txid) * (size // 32 + 1))[:size].hex())
    return "".join(parts)


def _coinbase_json(node: Any, blk: Block) -> dict:
    cb = node.chain.coinbase(blk)
    return {
        "txid": cb["txid"], "hash": cb["hash"], "version": 2, "size": cb["size"],
        "vsize": cb["vsize"], "weight": cb["weight"], "locktime": 0,
        "vin": [{"coinbase": cb["script_sig"], "txinwitness": ["00" * 32],
                 "sequence": 4294967295}],
        "vout": [
            {"value": Amount(cb["value"]), "n": 0,
             "scriptPubKey": describe_output(cb["address"], cb["spk_hex"], cb["spk_asm"],
                                             cb["spk_type"])},
            {"value": Amount(0), "n": 1,
             "scriptPubKey": describe_output(None, cb["commitment"],
                                             f"OP_RETURN {cb['commitment'][4:]}", "nulldata")},
        ],
        "hex": cb["hex"],
    }


@rpc("blockchain", "Returns a block: hex (0), an object (1), with transactions (2).",
     Arg("blockhash", "string", True), Arg("verbosity", "any"))
def getblock(node: Any, blockhash: str, verbosity: Any = None) -> Any:
    blk = _block(node, blockhash)
    level = _verbosity(verbosity)
    if level <= 0:
        return _raw_block_hex(node, blk)
    head = header_json(node, blk)
    size, stripped, weight, _ntx = _sizes(node, blk)
    cb = node.chain.coinbase(blk)
    out = {k: head[k] for k in ("hash", "confirmations", "height", "version", "versionHex",
                                "merkleroot", "time", "mediantime", "nonce", "bits", "target",
                                "difficulty", "chainwork", "nTx")}
    for k in ("previousblockhash", "nextblockhash"):
        if k in head:
            out[k] = head[k]
    out.update({"strippedsize": stripped, "size": size, "weight": weight,
                "coinbase_tx": {"version": 2, "locktime": 0, "sequence": 4294967295,
                                "coinbase": cb["script_sig"], "witness": "00" * 32}})
    txs = node.chain.block_txs(blk)
    if level == 1:
        out["tx"] = [cb["txid"]] + [t.txid for t in txs]
        return out
    rows = [_coinbase_json(node, blk)]
    for t in txs:
        rows.append({"txid": t.txid, "hash": t.wtxid, "version": 2,
                     "size": tx_total_size(t.weight), "vsize": t.vsize, "weight": t.weight,
                     "locktime": 0, "vin": [], "vout": [], "fee": Amount(t.fee)})
    out["tx"] = rows
    return out


def _truncated_median(values: list[int]) -> int:
    if not values:
        return 0
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) // 2


def _percentiles(scores: list[tuple[int, int]], total_weight: int) -> list[int]:
    """CalculatePercentilesByWeight: fee rates at 10/25/50/75/90 % of block weight."""
    result = [0] * 5
    if not scores:
        return result
    scores.sort()
    marks = [total_weight / 10.0, total_weight / 4.0, total_weight / 2.0,
             total_weight * 3.0 / 4.0, total_weight * 9.0 / 10.0]
    idx, cum = 0, 0
    for rate, weight in scores:
        cum += weight
        while idx < 5 and cum >= marks[idx]:
            result[idx] = rate
            idx += 1
    for i in range(idx, 5):
        result[i] = scores[-1][0]
    return result


@rpc("blockchain", "Compute per block statistics for a given window. All amounts are in "
     "satoshis.", Arg("hash_or_height", "any", True), Arg("stats", "array"))
def getblockstats(node: Any, hash_or_height: Any, stats: list | None = None) -> dict:
    if isinstance(hash_or_height, (int, float)) and not isinstance(hash_or_height, bool):
        height = int(hash_or_height)
        if height < 0:
            raise RPCError(RPC_INVALID_PARAMETER, f"Target block height {height} is negative")
        if height > node.chain.height:
            raise RPCError(RPC_INVALID_PARAMETER,
                           f"Target block height {height} after current tip {node.chain.height}")
        blk = node.chain.at(height)
    else:
        blk = _block(node, hash_or_height)
    txs = node.chain.block_txs(blk)
    fees = [t.fee for t in txs]
    sizes = [tx_total_size(t.weight) for t in txs]
    total_weight = sum(t.weight for t in txs)
    total_size = sum(sizes)
    rates = [(t.fee * 4) // t.weight for t in txs]
    totalfee = sum(fees)
    ins = sum(1 + (int(t.txid[:2], 16) % 3 == 0) for t in txs)
    outs = 2 * len(txs) + 2
    ntx = len(txs) + 1
    full = {
        "avgfee": totalfee // (ntx - 1) if ntx > 1 else 0,
        "avgfeerate": (totalfee * 4) // total_weight if total_weight else 0,
        "avgtxsize": total_size // (ntx - 1) if ntx > 1 else 0,
        "blockhash": blk.hash,
        "feerate_percentiles": _percentiles(list(zip(rates, (t.weight for t in txs), strict=True)),
                                            total_weight),
        "height": blk.height,
        "ins": ins,
        "maxfee": max(fees, default=0),
        "maxfeerate": max(rates, default=0),
        "maxtxsize": max(sizes, default=0),
        "medianfee": _truncated_median(fees),
        "mediantime": node.chain.median_time_past(blk),
        "mediantxsize": _truncated_median(sizes),
        "minfee": min(fees, default=0),
        "minfeerate": min(rates, default=0),
        "mintxsize": min(sizes, default=0),
        "outs": outs,
        "subsidy": cs.block_subsidy(blk.height, node.chain.params),
        "swtotal_size": total_size,
        "swtotal_weight": total_weight,
        "swtxs": len(txs),
        "time": blk.time,
        "total_out": sum(t.fee * 40 + 10_000 for t in txs),
        "total_size": total_size,
        "total_weight": total_weight,
        "totalfee": totalfee,
        "txs": ntx,
        "utxo_increase": outs - ins,
        "utxo_size_inc": (outs - ins) * 72 + 16,
        "utxo_increase_actual": outs - ins - 1,
        "utxo_size_inc_actual": (outs - ins - 1) * 72,
    }
    if not stats:
        return full
    for s in stats:
        if s not in full:
            raise RPCError(RPC_INVALID_PARAMETER, f"Invalid selected statistic '{s}'")
    return {k: v for k, v in full.items() if k in stats}


@rpc("blockchain", "Return information about all known tips in the block tree.")
def getchaintips(node: Any) -> list:
    return node.chain.tips()


def network_hashps(node: Any, lookup: int, height: int) -> float:
    """Core's GetNetworkHashPS: chainwork difference / (max time - min time) over a window."""
    chain = node.chain
    if lookup < -1 or lookup == 0:
        raise RPCError(RPC_INVALID_PARAMETER, "Invalid nblocks. Must be a positive number or -1.")
    if height < -1 or height > chain.height:
        raise RPCError(RPC_INVALID_PARAMETER, "Block does not exist at specified height")
    pb = chain.tip if height == -1 else chain.at(height)
    if pb is None or pb.height == 0:
        return 0
    if lookup == -1:
        lookup = pb.height % cs.RETARGET_INTERVAL + 1
    lookup = min(lookup, pb.height)
    min_t = max_t = pb.time
    for h in range(pb.height - 1, pb.height - lookup - 1, -1):
        t = chain.at(h).time
        min_t, max_t = min(min_t, t), max(max_t, t)
    if min_t == max_t:
        return 0
    pb0 = chain.at(pb.height - lookup)
    return float(pb.chainwork - pb0.chainwork) / (max_t - min_t)


@rpc("mining", "Returns the estimated network hashes per second based on the last n blocks.",
     Arg("nblocks", "number"), Arg("height", "number"))
def getnetworkhashps(node: Any, nblocks: int | None = None, height: int | None = None) -> Real:
    return Real(network_hashps(node, 120 if nblocks is None else int(nblocks),
                          -1 if height is None else int(height)))


def _block_tx_json(node: Any, blk: Block, txid: str) -> dict | None:
    """The decoded transaction ``txid`` of ``blk`` (the coinbase in full, others in outline)."""
    cb = node.chain.coinbase(blk)
    if txid == cb["txid"]:
        return _coinbase_json(node, blk)
    for t in node.chain.block_txs(blk):
        if t.txid == txid:
            size = tx_total_size(t.weight)
            return {"txid": t.txid, "hash": t.wtxid, "version": 2, "size": size,
                    "vsize": t.vsize, "weight": t.weight, "locktime": 0, "vin": [], "vout": [],
                    "hex": (bytes.fromhex(t.txid) * (size // 32 + 1))[:size].hex()}
    return None


@rpc("rawtransactions", "Returns a transaction of the mempool, or of the given block.",
     Arg("txid", "string", True), Arg("verbosity", "any"), Arg("blockhash", "string"))
def getrawtransaction(node: Any, txid: str, verbosity: Any = None,
                      blockhash: str | None = None) -> Any:
    """Like Core without -txindex: block transactions only with their block hash."""
    txid = parse_hash(txid, "parameter 1")
    level = _verbosity(verbosity)
    if blockhash is None:
        raise RPCError(
            RPC_INVALID_ADDRESS_OR_KEY,
            "No such mempool transaction. Use -txindex or provide a block hash to enable "
            "blockchain transaction queries. Use gettransaction for wallet transactions.",
        )
    blk = _block(node, blockhash, "parameter 3")
    tx = _block_tx_json(node, blk, txid)
    if tx is None:
        raise RPCError(
            RPC_INVALID_ADDRESS_OR_KEY,
            "No such transaction found in the provided block. Use gettransaction for wallet "
            "transactions.",
        )
    if level <= 0:
        return tx["hex"]
    active = node.chain.is_active(blk)
    out: dict[str, Any] = {"in_active_chain": active}
    out.update(tx)
    out.update({
        "blockhash": blk.hash,
        "confirmations": node.chain.height - blk.height + 1 if active else 0,
        "time": blk.time,
        "blocktime": blk.time,
    })
    return out
