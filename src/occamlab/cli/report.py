"""``occam report`` (write pages from the store) and ``occam serve`` (serve them on loopback)."""

import functools
import http.server
import socket
from pathlib import Path
from typing import Annotated

import typer

from occamlab.cli.options import CliKit


def register(app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam report`` and ``occam serve`` to ``app``."""

    def load_renderers() -> None:
        # The modules that own run kinds register their page writers when imported (each probe
        # family's page module is imported by its command module).
        import occamlab.diagnose  # noqa: F401
        import occamlab.experiments.page  # noqa: F401
        import occamlab.runs  # noqa: F401

    @kit.command("report", on=app)
    def report(
        run: Annotated[str | None, typer.Argument(help="Run id (or a unique prefix).")] = None,
        all_runs: Annotated[bool, typer.Option("--all", help="Every run, and the index.")] = False,
        store: kit.store_opt = kit.default_store,
        as_json: kit.json_opt = False,
    ) -> None:
        """Write the HTML page of a run (or of every run) and the index, from the store."""
        from occamlab.report import render_all, render_run
        from occamlab.report.pages import reports_dir
        from occamlab.store import Store

        if (run is None) == (not all_runs):
            raise ValueError("give a run id or --all (not both)")
        load_renderers()
        runs = Store(store, create=False)
        pages = render_all(runs) if all_runs else [render_run(runs, runs.get(run))]
        index = reports_dir(runs) / "index.html"
        payload = {"pages": [str(p) for p in pages], "index": str(index)}
        kit.emit(as_json, payload, lambda: kit.out.print(f"{len(pages)} page(s); index: {index}"))

    @kit.command("serve", on=app)
    def serve(
        port: Annotated[
            int, typer.Option("--port", help="Port, 0..65535 (0: any free port).")
        ] = 8765,
        host: Annotated[
            str,
            typer.Option(
                "--host", help="Address to bind; loopback unless you choose to expose it."
            ),
        ] = "127.0.0.1",
        store: kit.store_opt = kit.default_store,
    ) -> None:
        """Serve the store's report pages (index first) until interrupted."""
        from occamlab.report import render_all
        from occamlab.report.pages import reports_dir
        from occamlab.store import Store

        if not 0 <= port <= 65535:
            raise ValueError(f"--port must lie in 0..65535 (0 picks a free port), got {port}")
        load_renderers()
        runs = Store(store, create=False)
        folder = reports_dir(runs)
        server = make_server(folder, host=host, port=port)
        if not (folder / "index.html").exists():
            render_all(runs)
        address, bound = server.server_address[:2]
        kit.err.print(f"serving {folder} at http://{address}:{bound}/index.html (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        return None


def make_server(folder: Path, *, host: str = "127.0.0.1", port: int = 0):
    """A threading HTTP server for the static pages in ``folder`` (read-only, no listings of
    other folders: paths are resolved inside ``folder`` by the standard handler).

    Raises:
        ValueError: ``host`` does not resolve, or the address cannot be bound (port in use,
            address not of this machine, privileged port).
    """
    try:  # "" binds every IPv4 interface, as in the standard library's servers
        family = (
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
            if host
            else socket.AF_INET
        )
    except (OSError, UnicodeError) as exc:
        raise ValueError(
            f"--host {host!r} is not an address or host name that resolves "
            f"({getattr(exc, 'strerror', None) or exc}); use 127.0.0.1 (the default)"
        ) from None
    server_class = type("_Server", (http.server.ThreadingHTTPServer,), {"address_family": family})
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        return server_class((host, port), handler)
    except OSError as exc:
        raise ValueError(
            f"cannot serve on {host}:{port} ({exc.strerror or exc}); pick another --port "
            "(0 picks a free one) or --host"
        ) from None
