"""The query flow's answers kept on disk for the next audit of the same code.

Following the application's queries through its calls (query_flow.CodeBase: where each function
runs, what is unreached, the queries composed across functions) is the largest part of a warm
audit of a large project: 0.65 s of polar's 1.7 s, 0.73 s of a 1,568-file project's 1.9 s. What
it answers depends only on the code facts and summaries of the Python files, which depend only on
what each was read from (its kind, text, module and dialect: the parse cache's key), and on which
files are application code and which classes are mapped. `keep` writes the answers of the code
base an audit composed beside the parse cache, under a digest of those inputs; a code base made
on inputs with the same digest in a later run takes them back (`take_kept`) instead of composing
them again. An audit after an edit of a migration, a SQL file or a setting takes them; any change
to a Python file, however small, composes them again. Only a process's first code base looks for
them: the language server's edits carry answers over in memory or compose them (query_flow.code_base),
without a digest of every file's inputs and a read of the file on the way to their diagnostics.
"""

from __future__ import annotations

import hashlib
from typing import Optional

from .workspace.cache import read_keyed_pickle, write_keyed_pickle


def inputs_digest(model, base) -> Optional[str]:
    """The digest of what the code base `base` of `model` was made from; None when a file's
    inputs are not known (a model built without them)."""
    read_from = model.code_read_from
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(base.facts.keys() | base.summaries.keys()):
        inputs = read_from.get(path)
        if inputs is None:
            return None
        digest.update("\0".join((path, *inputs, "\n")).encode())
    digest.update(repr((sorted(base.application), sorted(base.mapped_classes))).encode())
    return digest.hexdigest()


def take_kept(base, model) -> bool:
    """Have `base` take the answers a run before kept for the same inputs, if there are any."""
    if model.flow_answers_file is None or not base.facts:
        return False
    key = inputs_digest(model, base)
    answers = read_keyed_pickle(model.flow_answers_file, key) if key is not None else None
    if not isinstance(answers, dict):
        return False
    base.take_answers(answers)
    return True


def keep(model) -> None:
    """Write the answers of the code base the last audit of `model` composed, unless they were
    taken from the file (the same inputs) or are not complete (the flow did not run)."""
    if not model.code:  # no Python code: no flow composed (nor query_flow to import)
        return
    from .query_flow import last_code_base

    base = last_code_base(model)
    if base is None or base.answers_taken or model.flow_answers_file is None:
        return
    answers = base.answers()
    key = inputs_digest(model, base) if answers is not None else None
    if key is not None:
        write_keyed_pickle(model.flow_answers_file, key, answers)
