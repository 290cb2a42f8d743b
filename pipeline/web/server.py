"""Starting the desk: `ictplan serve` builds the Desk and its configuration and hands the app to uvicorn."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

PASSWORD_FILE = "desk_password.json"  # beside the ledger; never downloadable (not an output's kind)


class ServeError(RuntimeError):
    """The desk cannot be served as asked (the network without a staff password)."""


def password_path(db: Path) -> Path:
    return db.parent / PASSWORD_FILE


def make_app(spec: Any, registry: Any, paths: Any, *, host: str = "127.0.0.1", lang: str = "vi",
             warm: bool = True) -> Any:
    """The desk's ASGI app for `paths`; on a non-loopback host, behind the staff password."""
    from pipeline.web.app import Config, build_app, loopback
    from pipeline.web.desk import Desk
    from pipeline.web.security import load_password
    from pipeline.web.uploads import remove_leftovers

    local = loopback(host)
    password = load_password(password_path(paths.db))
    if not local and password is None:
        raise ServeError(host)
    hosts = set() if host in ("0.0.0.0", "::") else {host, "localhost", "127.0.0.1", "::1"}
    remove_leftovers(paths.inbox)
    desk = Desk(spec, registry, paths)
    if warm:  # the first check then costs what every other does; the server answers meanwhile
        threading.Thread(target=desk.warm_up, name="warm-up", daemon=True).start()
    return build_app(desk, Config(lang=lang, login_required=not local, password=password, hosts=hosts))


def serve_app(app: Any, host: str, port: int) -> None:
    import uvicorn

    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False, date_header=False)
    finally:
        app.pages.desk.close()  # the self-checks' private copies
