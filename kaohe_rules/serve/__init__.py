"""``kaohe serve``: an HTTP decision service over loaded policies (issue #15; docs/serve.md).

Other systems — Java/.NET OA platforms, web front ends — embed the evaluator over HTTP, as they
embed OPA or OpenFisca.  :func:`create_app` builds the ASGI application (Starlette) over a
:class:`RegistryHolder` of policies that a watcher reloads atomically; ``kaohe serve`` runs it
under uvicorn.  Needs the ``serve`` extra: ``pip install 'kaohe_rules[serve]'``.
"""

from __future__ import annotations

from .registry import Registry, RegistryHolder, build_registry

__all__ = ["Registry", "RegistryHolder", "build_registry"]
