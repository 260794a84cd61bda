"""A worker's job-path pool opens its connections with the runtime (`workers.runtime.job_path_pool`)."""

from shared.config import get_settings
from workers.runtime import job_path_pool


async def test_the_job_path_pool_opens_every_connection_when_made(database):
    settings = get_settings()
    pool = await job_path_pool(settings)
    try:
        assert pool.get_size() == settings.worker_database_pool_size
        assert pool.get_idle_size() == settings.worker_database_pool_size
        assert pool.get_min_size() == 0  # no floor: idle connections still close
    finally:
        await pool.close()
