"""The real-model lab: corpus, transformer, the training loop driven by the library, students' code."""

import math

import nbformat
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from adaptive_lr import optim  # noqa: E402
from adaptive_lr.course.submissions import solution, with_function  # noqa: E402
from adaptive_lr.lab import model as M  # noqa: E402
from adaptive_lr.lab.data import batch, load_corpus  # noqa: E402
from adaptive_lr.lab.methods import METHODS, Method, Part  # noqa: E402
from adaptive_lr.lab.student import NotAnswered, load_function, numpy_bridge  # noqa: E402
from adaptive_lr.lab.train import RunConfig, load_results, save_results, state_bytes, train  # noqa: E402

# On one xdist worker, so that its costly module fixture is built once, not once per worker.
pytestmark = pytest.mark.xdist_group(__name__)

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]

TINY = RunConfig(steps=12, batch_size=4, warmup=2, context=16, d_model=16, n_layers=1, n_heads=2,
                 log_every=4, eval_every=6)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


@pytest.fixture(scope="module")
def reference(corpus):
    """One short AdamW run through the library, shared by the tests that compare against it."""
    return train(METHODS["adamw"], corpus, TINY)


def test_corpus_and_batches(corpus):
    assert corpus.vocab_size == 60 and corpus.decode(corpus.train[:4]) == "I\n\nF"
    assert len(corpus.val) == pytest.approx(0.1 * (len(corpus.train) + len(corpus.val)), abs=1)
    x, y = batch(corpus.train, 3, 8, seed=0, t=5)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])  # targets are the next characters
    np.testing.assert_array_equal(x, batch(corpus.train, 3, 8, seed=0, t=5)[0])  # same batch for every run
    with pytest.raises(ValueError, match="fewer than context"):
        batch(corpus.train[:5], 1, 8, 0, 1)


def test_model_size_and_initial_loss(corpus):
    cfg = RunConfig().model_config(corpus.vocab_size)
    params = M.init_params(cfg)
    assert 1e5 <= M.n_params(params) <= 1e6
    x, y = (torch.from_numpy(a) for a in batch(corpus.train, 8, cfg.context, 0, 1))
    # Small random weights: the first prediction is near uniform, loss ~ ln(vocab).
    assert float(M.loss(params, x, y, cfg)) == pytest.approx(math.log(corpus.vocab_size), abs=0.05)
    with pytest.raises(ValueError, match="d_model must be a multiple of n_heads"):
        M.Config(60, d_model=10, n_heads=4).check()


def test_every_tensor_of_every_step_goes_through_the_library_rule(corpus, reference):
    calls = []

    def recording(*args, **kwargs):
        calls.append(kwargs["t"])
        return optim.adamw_update(*args, **kwargs)

    result = train(METHODS["adamw"], corpus, TINY, update_functions={"adamw": recording})
    n_tensors = len(result.tensor_names)
    assert len(calls) == TINY.steps * n_tensors and calls[-1] == TINY.steps
    np.testing.assert_array_equal(result.loss, reference.loss)
    assert reference.loss[-1] < reference.loss[0] - 0.2
    for q, v in reference.dashboard.items():
        assert v.shape == (len(reference.log_steps), n_tensors), q


def test_muon_and_adafactor_take_matrices_and_hand_the_rest_to_adamw(corpus):
    params = M.init_params(TINY.model_config(corpus.vocab_size))
    muon = {n: METHODS["muon"].part_for(n, p).rule for n, p in params.items()}
    assert muon["h0.attn.qkv"] == "muon" and muon["tok_emb"] == "adamw" and muon["h0.ln1.w"] == "adamw"
    adafactor = {n: METHODS["adafactor"].part_for(n, p).rule for n, p in params.items()}
    assert adafactor["tok_emb"] == "adafactor" and adafactor["h0.mlp.fc.b"] == "adamw"
    assert METHODS["adamw"].part_for("h0.ln1.b", params["h0.ln1.b"]).hp["weight_decay"] == 0.0
    with pytest.raises(ValueError, match="no fallback"):
        Method("x", "x", Part("muon", {"lr": 0.1})).part_for("h0.ln1.w", params["h0.ln1.w"])


def test_muon_sees_each_hidden_matrix_in_torchs_out_in_layout(corpus):
    # The model stores (in, out) for x @ W; Muon's factor sqrt(max(1, n/m)) is defined on
    # nn.Linear's (out, in), so the MLP's up-projection (out = 4 in) is the one scaled by 2.
    shapes = {}

    def recording(W, G, buf, **kwargs):
        shapes.setdefault(W.shape, []).append(G.shape == W.shape == buf.shape)
        return optim.muon_update(W, G, buf, **kwargs)

    run = TINY._replace(steps=2)
    params = M.init_params(run.model_config(corpus.vocab_size))
    d = run.d_model
    assert params["h0.mlp.fc"].shape == (d, 4 * d)  # (in, out)
    train(METHODS["muon"], corpus, run, update_functions={"muon": recording})
    assert sorted(shapes) == sorted([(3 * d, d), (d, d), (4 * d, d), (d, 4 * d)])
    assert all(all(same) for same in shapes.values())
    assert not METHODS["muon"].sees_transpose("tok_emb", params["tok_emb"])  # AdamW's, as stored
    assert not METHODS["adamw"].sees_transpose("h0.mlp.fc", params["h0.mlp.fc"])
    # Transposing is the layout only: a step on W^T, transposed back, is the step torch takes.
    W, G = params["h0.mlp.fc"], torch.randn(d, 4 * d, dtype=torch.float32)
    step_t = optim.muon_update(W.T, G.T, torch.zeros(4 * d, d), lr=0.02)[0].T - W
    step = optim.muon_update(W, G, torch.zeros(d, 4 * d), lr=0.02)[0] - W
    assert float(torch.linalg.vector_norm(step_t) / torch.linalg.vector_norm(step)) == pytest.approx(2.0, rel=1e-5)


def test_state_memory_is_measured_on_the_state(corpus):
    params = M.init_params(RunConfig().model_config(corpus.vocab_size))
    n = M.n_params(params)
    assert state_bytes(METHODS["adamw"], params) == 8 * n  # m and v, float32
    assert state_bytes(METHODS["lion"], params) == 4 * n  # m only
    assert state_bytes(METHODS["adafactor"], params) < 0.1 * 8 * n
    eight_bit = Method("adam8bit", "8-bit Adam", Part("adam8bit", {"lr": 1e-3, "block_size": 256}))
    assert 2 * n <= state_bytes(eight_bit, params) < 2.2 * n


def test_results_survive_a_round_trip(corpus, tmp_path):
    r = train(METHODS["lion"], corpus, TINY)
    back, run = load_results(save_results(tmp_path / "r.npz", {"lion": r}, TINY))
    assert run["steps"] == TINY.steps
    np.testing.assert_array_equal(back["lion"].loss, r.loss)
    np.testing.assert_array_equal(back["lion"].dashboard["trust_ratio"], r.dashboard["trust_ratio"])
    assert back["lion"].state_bytes == r.state_bytes


@pytest.fixture(scope="module")
def notebooks():
    src = nbformat.read(ROOT / "source/adaptive_lr/exercises.ipynb", as_version=4)
    rel = nbformat.read(ROOT / "release/adaptive_lr/exercises.ipynb", as_version=4)
    return src, rel


def test_a_students_adamw_trains_the_model_like_the_reference(corpus, reference, notebooks, tmp_path):
    path = tmp_path / "exercises.ipynb"
    nbformat.write(solution(*notebooks), path)
    before = path.read_bytes()
    fn = numpy_bridge(load_function(path, "adamw_update"))
    mine = train(METHODS["adamw"], corpus, TINY, update_functions={"adamw": fn})
    np.testing.assert_allclose(mine.loss, reference.loss, rtol=1e-5)
    assert path.read_bytes() == before, "the student's notebook must not change"


def test_a_wrong_or_missing_answer_is_reported(corpus, reference, notebooks, tmp_path):
    path = tmp_path / "exercises.ipynb"
    nbformat.write(notebooks[1], path)
    with pytest.raises(NotAnswered, match="not implemented yet"):
        load_function(path, "adamw_update")
    with pytest.raises(NotAnswered, match="no notebook"):
        load_function(tmp_path / "missing.ipynb")
    wrong = (
        "def adamw_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):\n"
        "    m = beta1 * m + (1 - beta1) * grad\n"
        "    v = beta2 * v + (1 - beta2) * grad * grad\n"
        "    return theta - lr * m / np.sqrt(v + eps), m, v\n"  # no bias correction, eps inside
    )
    nbformat.write(with_function(solution(*notebooks), "adamw_update", wrong), path)
    fn = numpy_bridge(load_function(path, "adamw_update"))
    mine = train(METHODS["adamw"], corpus, TINY, update_functions={"adamw": fn})
    assert np.max(np.abs(mine.loss - reference.loss)) > 1e-3, "a wrong rule must train differently"
