"""A Bitcoin Core simulator: the test oracle hashwatch talks to over real HTTP and ZMQ.

It implements Core's rules on its own (no imports from the daemon's modules), so a wrong
formula in the daemon cannot agree with itself here.
"""

from .clock import SimClock
from .consensus import (
    bits_to_target,
    block_proof,
    block_subsidy,
    calculate_next_bits,
    difficulty,
    target_to_bits,
)
from .mempool import FeeRateDist, MempoolError
from .node import SimNode
from .rpc_methods import RPCError
from .scenario import Scenario, ScenarioError, builtin_scenarios, load_scenario

__all__ = [
    "FeeRateDist", "MempoolError", "RPCError", "Scenario", "ScenarioError", "SimClock",
    "SimNode", "bits_to_target", "block_proof", "block_subsidy", "builtin_scenarios",
    "calculate_next_bits", "difficulty", "load_scenario", "target_to_bits",
]
