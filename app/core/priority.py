"""Background work gives the CPU to requests: the database backends of a background roster
run at a higher nice value (a lower priority) than the ones answering requests.

PostgreSQL has no priorities of its own, but each connection is a process of its own: when the
server runs on this machine and this process may renice its processes (its embedded server,
run by the same user, or a server run by another user when this is root), the roster's
backends are reniced. A backend cannot be given its priority back without privileges, so a
reniced connection is closed after its batch instead of going back to the pool.
"""

import ipaddress
import logging
import os

import asyncpg
import psutil

logger = logging.getLogger("perisai.priority")


async def lower(connection: asyncpg.Connection, nice: int) -> bool:
    """Whether the connection's backend now runs at `nice` (False: as it was)."""
    if nice <= 0 or not await _on_this_machine(connection):
        return False
    pid = connection.get_server_pid()
    try:
        if psutil.Process(pid).name() != "postgres":
            return False
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    except (psutil.Error, OSError) as exc:
        logger.info("backend priority unchanged", extra={"fields": {"error": type(exc).__name__}})
        return False
    return True


async def _on_this_machine(connection: asyncpg.Connection) -> bool:
    """A Unix socket (no server address) or a loopback one."""
    address = await connection.fetchval("SELECT host(inet_server_addr())")
    return address is None or ipaddress.ip_address(address).is_loopback
