"""The LSP protocol of the server: pygls's, minus a leak."""

from __future__ import annotations

from pygls.protocol import LanguageServerProtocol


class SchemaLensProtocol(LanguageServerProtocol):
    """pygls 2.1 keeps the future of every handler it runs in `_request_futures`; it removes a
    request's when the response is sent, but a notification's (didChange, didSave, ...) and each
    step of its built-in generator handlers stay there under a random id for the life of the
    process: the server grew by a few kilobytes per edit (found with bench/bench_lsp.py
    --tracemalloc). Every handler's entry is dropped once its future is done; a cancelled one is
    left to pygls, which cancels while it iterates over the futures (shutdown) or has already
    removed it ($/cancelRequest)."""

    def _execute_handler(self, msg_id, *args, **kwargs):
        super()._execute_handler(msg_id, *args, **kwargs)  # whatever else pygls passes, as it is
        future = self._request_futures.get(msg_id)
        if future is not None:
            future.add_done_callback(lambda done: self._forget(msg_id, done))

    def _forget(self, msg_id, future) -> None:
        if not future.cancelled() and self._request_futures.get(msg_id) is future:
            del self._request_futures[msg_id]
