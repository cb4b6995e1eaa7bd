"""The character transformer of the stepsize instances: its text, its encoding, causal attention, and a
tiny pretraining run on next-character targets."""

from __future__ import annotations

import inspect
import textwrap

import numpy as np
import torch

from zoverify.claims.stepsize import networks


def test_the_text_is_the_standard_librarys_own_source():
    text = networks.stdlib_text()
    assert text.startswith(inspect.getsource(textwrap))
    assert "def heappush" in text and "def bisect_left" in text


def test_an_unknown_character_is_encoded_as_a_question_mark():
    tokens = networks.encode("a\né?")
    vocab = networks.VOCAB
    assert [vocab[i] for i in tokens.tolist()] == ["a", "\n", "?", "?"]


def test_changing_a_later_token_leaves_earlier_outputs_unchanged():
    model = networks.char_transformer(np.random.default_rng(0), width=8, depth=1, heads=2)
    tokens = networks.encode("def f(x):\n    return x")[None, :]
    changed = tokens.clone()
    changed[0, 10] = networks.VOCAB.index("Z")
    with torch.no_grad():
        a, b = model(tokens), model(changed)
    assert a.shape == (1, tokens.shape[1], len(networks.VOCAB))
    torch.testing.assert_close(a[:, :10], b[:, :10], rtol=0, atol=0)
    assert not torch.allclose(a[:, 10:], b[:, 10:])  # the changed position and later ones see it


def test_pretraining_fits_next_character_targets():
    model0, loss0, (X, Y) = networks.pretrained_char_transformer(
        np.random.default_rng(1), steps=0, width=8, depth=1, heads=2
    )
    assert X.shape == Y.shape == (networks.SEQUENCES, networks.CONTEXT)
    assert torch.equal(X[:, 1:], Y[:, :-1])  # Y is X one character on
    model1, loss1, (X1, _) = networks.pretrained_char_transformer(
        np.random.default_rng(1), steps=2, width=8, depth=1, heads=2
    )
    assert torch.equal(X1, X)  # the same windows from the same generator
    with torch.no_grad():
        before, after = float(loss0(model0)), float(loss1(model1))
    assert np.isfinite(before) and after < before  # two Adam steps on the fixed batch lower its loss
