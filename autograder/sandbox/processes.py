"""Processes below one we started: found and killed as a tree (kernels run in sessions of their own,
so a process group is not enough)."""
from __future__ import annotations

import os
import signal
import subprocess

import psutil


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, children first found first."""
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL `proc` and everything below it, then reap `proc`. Its process group goes too, if it leads
    one: what it started that left the tree by a double fork goes with it."""
    below = descendants(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # a group of that number exists only if `proc` leads it
    except (ProcessLookupError, PermissionError):
        pass
    for pid in [*below, proc.pid]:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
