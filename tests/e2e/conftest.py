"""Fixtures for end-to-end tests: the sandbox and `resolver serve` as real processes.

One sandbox process serves the whole session and is emptied before each test; each test starts
the `resolver serve` processes it needs, on free ports, against the session's real Redis. Every
process is stopped in teardown whatever the test did, and when a test fails its report carries
the output of every process it used.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from resolver_bench import processes

from tests.e2e.upstream import Upstream
from tests.support.deploy import container_command

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Generator, Iterator

    from resolver_bench.processes import Child

HERE = Path(__file__).resolve().parent
# The bound for any one end-to-end test.
TEST_TIMEOUT_S = 30
CHILDREN = pytest.StashKey[list["Child"]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Bound every end-to-end test in time: a hung process must fail the test, not CI."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the output of the test's processes to a failure's report."""
    report = yield
    if report.failed:
        for child in item.stash.get(CHILDREN, []):
            report.sections.append((f"{child.name} at {child.url}", child.tail(20_000)))
    return report


def watch(request: pytest.FixtureRequest, child: Child) -> None:
    """Show `child`'s output if the requesting test fails."""
    request.node.stash.setdefault(CHILDREN, []).append(child)


@pytest.fixture(scope="session")
def sandbox_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Child]:
    """`resolver sandbox` for the whole session."""
    with processes.sandbox(tmp_path_factory.mktemp("sandbox")) as child:
        yield child


@pytest.fixture
async def upstream(
    sandbox_process: Child, request: pytest.FixtureRequest
) -> AsyncIterator[Upstream]:
    """The session's sandbox, emptied: no coupons, no stats, no faults."""
    watch(request, sandbox_process)
    async with httpx.AsyncClient(base_url=sandbox_process.url, timeout=10.0) as client:
        sandbox = Upstream(client)
        await sandbox.reset()
        yield sandbox


@pytest.fixture
def start_serve(
    redis_url: str, upstream: Upstream, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Child]]:
    """Starts `resolver serve --workers N` against the sandbox; extra keywords are settings.

    With `container=True` it starts the container image's command (uvicorn on the app
    factory, one process) instead.
    """
    started: list[Child] = []

    def start(workers: int = 1, *, container: bool = False, **settings: object) -> Child:
        environment = {
            "RESOLVER_UPSTREAM": "sandbox",
            "RESOLVER_PASSKIT_BASE_URL": upstream.url,
            "RESOLVER_REDIS_URL": redis_url,
            # A fresh key per process: no state left in Redis by another test can match.
            "RESOLVER_SECRET_KEY": secrets.token_hex(16),
            "RESOLVER_LOG_FORMAT": "json",
            # One test client taps hundreds of times from one address: limits have their own
            # tests (tests/web/test_rate_limits.py, across two app instances).
            "RESOLVER_RATE_LIMIT_MISSES": "off",
            "RESOLVER_RATE_LIMIT_COUPON": "off",
            # Bursts of hundreds of taps at one worker, to race claims: the per-worker bound on
            # requests in progress has its own tests (tests/web/test_backpressure.py).
            "RESOLVER_MAX_IN_FLIGHT": "10000",
            **{f"RESOLVER_{name.upper()}": str(value) for name, value in settings.items()},
        }
        child = (
            processes.container(tmp_path, environment, container_command())
            if container
            else processes.serve(tmp_path, environment, workers=workers)
        )
        started.append(child)
        watch(request, child)
        child.start()
        processes.wait_for_workers(str(settings.get("redis_url", redis_url)), workers)
        return child

    yield start
    for child in started:
        child.stop()
