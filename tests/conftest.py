"pytest options for research_kit's own tests: slow tests (the docs browser test) run only with --runslow; the one-thread fixture."
import pytest


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for a module's tests, restored after: tiny models are all per-op overhead, and on a shared
    2-core machine two threads per op thrash (test_families 68 s -> 22 s, test_offload 36 s -> 12 s). Use it with
    `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: slow test (builds things, drives a browser); run with --runslow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"): return
    skip = pytest.mark.skip(reason="slow test: run with --runslow (make test-all)")
    for item in items:
        if "slow" in item.keywords: item.add_marker(skip)
