"""The watchdog beside a local Ray instance (rmnb.inference.ray_watchdog) stops its agents when the driver dies."""

import os
import signal
import subprocess
import sys
import time

import pytest


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the watchdog reads /proc")
def test_ray_agents_are_stopped_when_the_driver_is_killed():
    """Stand-ins: a driver, and an agent that ignores SIGTERM (as Ray's agents do) marked with the node id."""
    node = f"rmnb-test-{os.getpid()}-{time.time_ns()}"
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    agent = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, "
                              "signal.SIG_IGN); time.sleep(60)"], env={**os.environ, "RAY_NODE_ID": node})
    watchdog = subprocess.Popen([sys.executable, "-m", "rmnb.inference.ray_watchdog", str(driver.pid), node])
    try:
        time.sleep(1.5)
        assert agent.poll() is None and watchdog.poll() is None  # the driver runs: nothing is touched
        driver.kill()
        assert watchdog.wait(timeout=20) == 0
        assert agent.wait(timeout=5) == -signal.SIGKILL
    finally:
        for proc in (driver, agent, watchdog):
            proc.kill()
            proc.wait()
