"""What a grading kernel and a re-check kernel can reach: the probes, run in real sandbox kernels.

One fixture starts both kernels from the specs the executor writes, with
secrets in the grader's environment and host listeners open (TCP on
127.0.0.1, Unix sockets in /run, /tmp and an unusual folder, one abstract),
runs every probe of adaptive_lr.course.probes in each kernel, and records what
the listeners received. The tests then read that record.
"""

import json
import os
import stat
import subprocess
import sys

import pytest

from adaptive_lr.course.execute import write_grading_kernelspecs
from adaptive_lr.course.probes import PROBES, PRINTS_ENVIRONMENT, HostServices, probe_lines
from adaptive_lr.course.verify import _Kernel
from adaptive_lr.sandbox import Limits, ensure_user, reap, write_kernelspec, zygote
from adaptive_lr.sandbox.kernel import PLOT_BACKENDS, environment
from adaptive_lr.sandbox.users import become_subreaper

from .probe_checks import SECRETS, check, check_environment

# On one xdist worker, so that its costly module fixture is built once, not once per worker.
pytestmark = pytest.mark.xdist_group(__name__)

ROOT = os.geteuid() == 0
USER = f"adaptive-lr-grader-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-net"
needs_root = pytest.mark.skipif(not ROOT, reason="namespaces need root")
KINDS = ("grading", "recheck")
# A folder outside the usual socket places, which anyone may enter: only the sweep of the
# host's sockets (mounts._hide_sockets) keeps a kernel from the one there.
ODD_FOLDER = "/srv" if os.path.isdir("/srv") else "/var/lib"

FIGURE = (
    "import matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots()\n"
    "ax.plot([1, 2, 3], [1, 4, 9], label='t^2')\n"
    "ax.set_title('a figure'); ax.set_xlabel('t'); ax.set_ylabel('t^2'); ax.legend()\n"
)


def _messages(kernel, code, timeout=60):
    """Every iopub message of one execution, until the kernel is idle again."""
    msg_id = kernel.kc.execute(code)
    found = []
    while True:
        msg = kernel.kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        found.append((msg["msg_type"], msg["content"]))
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return found


# Both ways a grading kernel starts: a new process, and a fork of a zygote (sandbox.zygote)
# started, as a worker starts it, while the secrets are in the grader's environment.
@pytest.fixture(scope="module", params=["executed", "forked"])
def probed(request, tmp_path_factory):
    become_subreaper()
    if ROOT:
        ensure_user(USER)
    saved = {k: os.environ.get(k) for k in [*SECRETS, "JUPYTER_PATH", zygote.ENV]}
    os.environ.update(SECRETS)
    forked = request.param == "forked"
    if forked:
        assert zygote.start(str(tmp_path_factory.mktemp("zygote-net"))), "the zygote did not start"
    base = tmp_path_factory.mktemp("jupyter-net")
    names = write_grading_kernelspecs(
        base / "kernels",
        Limits(memory_bytes=2 * 2**30, max_processes=64, cpu_seconds=60),
        USER,
        hide=[],
        figures=True,
        scratch_root=str(tmp_path_factory.mktemp("scratch-net")),
    )
    os.environ["JUPYTER_PATH"] = str(base)
    record = {"out": {}, "figure": {}, "transport": {}, "folder": {}}
    kernels = []
    try:
        with HostServices(odd_folder=ODD_FOLDER) as services:
            for kind, name in zip(KINDS, names):
                kernel = _Kernel(name, timeout=30)
                kernels.append(kernel)
                assert isinstance(kernel.km.provisioner.process, zygote.ForkedKernel) == forked
                record["transport"][kind] = kernel.km.transport
                folder = os.path.dirname(kernel.km.ip)
                record["folder"][kind] = (folder, os.stat(folder))
                for probe in PROBES:
                    code = probe.code.format(**services.targets())
                    record["out"][kind, probe.slug] = probe_lines(kernel.run(code))
                record["figure"][kind] = _messages(kernel, FIGURE)
            for kernel in kernels:
                kernel.close()
            kernels = []
            record["folder_after"] = {
                k: os.path.exists(f) for k, (f, _) in record["folder"].items()
            }
            record["reached"] = services.reached()
            services.ping()
            record["pinged"] = services.reached()
            record["sockets"] = list(services.unix_paths)
        yield record
    finally:
        for kernel in kernels:
            kernel.close()
        if forked:
            zygote.stop()
        if ROOT:
            reap(USER)
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def test_environment_is_an_allow_list(tmp_path):
    grader = {
        **SECRETS,
        "PATH": "/root/.private-bin:/usr/sbin:/usr/bin",
        "PYTHONPATH": "/srv/course/lib",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "JPY_PARENT_PID": "4242",
        "HTTPS_PROXY": "http://proxy.internal:3128",
        "JUPYTERHUB_API_TOKEN": "hub-token",
        "MPLBACKEND": "Agg",
    }
    env = environment(str(tmp_path), grader)
    assert env["PATH"] == os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin",
                                           "/usr/bin", "/bin"])  # fmt: skip
    passed = {k: env[k] for k in ("PYTHONPATH", "LANG", "LC_ALL", "JPY_PARENT_PID")}
    assert passed == {k: grader[k] for k in passed}
    for name in [*SECRETS, "HTTPS_PROXY", "JUPYTERHUB_API_TOKEN"]:
        assert name not in env, name
    assert env["HOME"] == env["TMPDIR"] == env["MPLCONFIGDIR"] == str(tmp_path)
    assert env["MPLBACKEND"] == "module://matplotlib_inline.backend_inline"
    assert environment(str(tmp_path), grader, plot_backend="agg")["MPLBACKEND"] == "Agg"
    assert set(PLOT_BACKENDS) == {"inline", "agg"}


def test_unknown_plot_backend_is_refused(tmp_path):
    with pytest.raises(ValueError, match="plot_backend must be one of"):
        write_kernelspec(tmp_path / "kernels", plot_backend="tk")


def test_environment_checker_objects_to_a_leak():
    leaked = ["probe environ: ['GRADER_SECRET_TOKEN', 'HOME', 'PATH']",
              "probe env GRADER_SECRET_TOKEN=" + SECRETS["GRADER_SECRET_TOKEN"]]  # fmt: skip
    with pytest.raises(AssertionError):
        check_environment(leaked)


@pytest.mark.parametrize("kind", KINDS)
def test_kernel_environment_holds_no_secret(probed, kind):
    check_environment(probed["out"][kind, PRINTS_ENVIRONMENT.slug])


@needs_root
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("probe", [p for p in PROBES if p is not PRINTS_ENVIRONMENT],
                         ids=lambda p: p.slug)  # fmt: skip
def test_kernel_reaches_no_host_service_and_no_network(probed, kind, probe):
    check(probe.slug, probed["out"][kind, probe.slug], probed["sockets"])


@needs_root
def test_listeners_received_nothing_from_the_kernels_but_do_listen(probed):
    assert probed["reached"] == {}, f"a kernel reached {sorted(probed['reached'])}"
    assert set(probed["pinged"]) == {"tcp 127.0.0.1", *map(repr_or_path, probed["sockets"])}


def repr_or_path(path):
    return repr(path) if path.startswith("\0") else path


@pytest.mark.parametrize("kind", KINDS)
def test_kernels_are_reached_over_ipc_in_a_private_folder(probed, kind):
    assert probed["transport"][kind] == "ipc"
    folder, st = probed["folder"][kind]
    assert stat.S_IMODE(st.st_mode) == 0o700
    if ROOT:
        import pwd

        assert st.st_uid == pwd.getpwnam(USER).pw_uid
    assert not probed["folder_after"][kind], "the IPC folder goes with its kernel"


def test_grading_kernel_draws_inline_png_and_writes_nothing_to_stderr(probed):
    messages = probed["figure"]["grading"]
    pngs = [c for t, c in messages if t == "display_data" and "image/png" in c["data"]]
    assert len(pngs) == 1, messages
    assert not [c for t, c in messages if t == "stream" and c["name"] == "stderr"], messages
    assert not [c for t, c in messages if t == "error"], messages


def test_recheck_kernel_draws_no_figure_and_writes_nothing_to_stderr(probed):
    messages = probed["figure"]["recheck"]
    assert not [t for t, _ in messages if t in ("display_data", "error", "stream")], messages


@needs_root
def test_a_sandbox_kernel_will_not_start_over_tcp(tmp_path):
    ensure_user(USER)
    connection = tmp_path / "kernel.json"
    connection.write_text(json.dumps({"transport": "tcp", "ip": "127.0.0.1", "shell_port": 1}))
    proc = subprocess.run(
        [sys.executable, "-m", "adaptive_lr.sandbox.kernel", f"--user={USER}",
         f"--scratch-root={tmp_path / 'scratch'}", "-f", str(connection)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0 and "IPC transport" in proc.stderr, proc.stderr
