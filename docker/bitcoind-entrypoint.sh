#!/bin/sh
# Wrapper for the bitcoin/bitcoin image's entrypoint in the compose stack.
#
# Why: the image's entrypoint makes the datadir mode 0700, so a group-readable cookie inside it
# would still be out of reach. bitcoind writes its cookie to the separate /cookie volume instead
# (-rpccookiefile=/cookie/.cookie -rpccookieperms=group); this prepares that directory for the
# "bitcoin" group, which hashwatch (group_add) and the miner (user bitcoin) belong to.
set -eu
chown bitcoin:bitcoin /cookie
chmod 0750 /cookie
# A cookie left by a crash would let clients authenticate against nothing until bitcoind rewrites it.
rm -f /cookie/.cookie
exec /entrypoint.sh "$@"
