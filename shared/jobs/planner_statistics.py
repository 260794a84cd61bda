"""Fresh planner statistics for the jobs table after a large batch lands.

Why: a batch's items arrive in one COPY of up to 50,000 rows, and until autovacuum's analyze
notices (a minute or more later) PostgreSQL plans the dispatcher's query with the old row
count. On a 50,000-item batch it then sorted every waiting row in each round (80-100 ms a round)
instead of reading the next chunk off the pending index (under a millisecond), and the drain
ran at a third of the rate of a small batch. PostgreSQL's documentation asks for ANALYZE after
a bulk load; a maintenance task does it once, off the request's path.
"""

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import Settings
from shared.db import driver_connection

# Large batches arriving together need one ANALYZE, not one each.
AT_MOST_EVERY_SECONDS = 30


async def analyze_jobs(engine: AsyncEngine, redis: Redis, settings: Settings) -> bool:
    """ANALYZE the jobs table unless another process did within the last 30 s; True if run."""
    if not await redis.set(settings.key("jobs", "analyzed"), 1, nx=True, ex=AT_MOST_EVERY_SECONDS):
        return False
    async with driver_connection(engine) as connection:
        await connection.execute("ANALYZE jobs")
    return True
