"""The hub's public page (``/``, ``/city/{city}``) and its offline API docs (``/docs``, ``/redoc``).

``install_web(app)`` is the one call the app factory makes. See docs/web.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["install_web"]


def install_web(app: FastAPI) -> None:
    """Add the public page, its static files and the locally hosted /docs and /redoc to ``app``."""
    # Imported here: the routes use the API's dependencies, and the API's factory calls this.
    from hub.web.docs import install_docs
    from hub.web.routes import pages, router

    app.include_router(router)
    app.include_router(pages)
    install_docs(app)
