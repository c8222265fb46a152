"""Executors: where a sweep's tasks run. ``local`` runs them in this process, one after the
other; ``ray`` sends each to a Ray cluster (a local instance, or ``address="auto"`` /
``"HOST:PORT"`` for a running cluster) and yields results as they finish."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, Protocol

ExecutorName = Literal["local", "ray"]
Outcome = tuple[int, Any, str | None]  # (index, result, error message or None)


class Executor(Protocol):
    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Outcome]:
        """Apply ``fn`` to every item; yield ``(index, result, error)`` as each finishes."""
        ...

    def close(self) -> None: ...


class LocalExecutor:
    """Run tasks in this process, in order. A failing task yields its error and the rest go on."""

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Outcome]:
        for i, item in enumerate(items):
            try:
                yield i, fn(item), None
            except Exception as exc:  # a task's failure is recorded, not fatal to the sweep
                yield i, None, f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        return None


class RayExecutor:
    """Run tasks as Ray tasks (one CPU each).

    Args:
        address: ``None`` starts a local instance with ``num_cpus`` CPUs; ``"auto"`` or
            ``"HOST:PORT"`` connects to a running cluster (``ray start --head`` on one machine,
            ``ray start --address HOST:PORT`` on the others; every machine needs occamlab).
        num_cpus: CPUs of a local instance (ignored when connecting to a cluster).
    """

    def __init__(self, *, address: str | None = None, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError:  # pragma: no cover - ray is installed by `make setup`
            raise ValueError("the ray executor needs Ray: pip install 'occamlab[ray]'") from None
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            ray.init(
                address=address,
                num_cpus=None if address else num_cpus,
                include_dashboard=False,
                log_to_driver=False,
            )

    def run(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Outcome]:
        ray = self._ray
        remote = ray.remote(num_cpus=1, max_retries=0)(fn)
        pending = {remote.remote(item): i for i, item in enumerate(items)}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                i = pending.pop(ref)
                try:
                    yield i, ray.get(ref), None
                except Exception as exc:  # RayTaskError wraps the task's own exception
                    cause = getattr(exc, "cause", None) or exc
                    yield i, None, f"{type(cause).__name__}: {cause}"

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()


def make_executor(
    name: ExecutorName, *, address: str | None = None, num_cpus: int | None = None
) -> Executor:
    if name == "local":
        if address:
            raise ValueError("--address applies to the ray executor only")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address=address, num_cpus=num_cpus)
    raise ValueError(f"unknown executor {name!r}; valid executors: local, ray")


__all__ = ["Executor", "LocalExecutor", "RayExecutor", "make_executor"]
