"""Publishing: refusals, the dry-run folder (fresh-process load), and the upload at the HTTP edge (no network)."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import textwrap

import httpx2
import pytest
import torch
from huggingface_hub import set_client_factory
from huggingface_hub.utils._http import default_client_factory

import conversion.push_to_hub as push_module
from conversion.model_card import load_results, write_card
from conversion.push_to_hub import main
from conversion.verify import model_outputs
from tests.conftest import REPO_ROOT, run_fresh_python
from tests.conversion import TEST_SIZE, export_folder, probe_results, write_json

UPLOADED = {
    "README.md",
    "config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "configuration_oceansar.py",
    "modeling_oceansar.py",
    "image_processing_oceansar.py",
}
TOKEN = "hf_TestOnlySecretToken0123456789abcdef"


@pytest.fixture
def exported(tmp_path):
    """An exported wave head with its model card, plus a file that must not be uploaded; (folder, model)."""
    path = tmp_path / "export"
    model = export_folder(path, "wave")
    results = load_results(write_json(tmp_path / "wave.json", probe_results("wave")))
    write_card(path, "wave", "me/oceansar-wave", results=[results], base_model="me/oceansar")
    (path / "notes.txt").write_text("training notes")
    return path, model


@pytest.fixture
def folder(exported):
    return exported[0]


def refused(argv: list[str]) -> str:
    with pytest.raises(SystemExit) as error:
        main(argv)
    return str(error.value.code)


FRESH_LOAD = textwrap.dedent(
    """
    import sys, torch
    from transformers import AutoModel, AutoModelForImageClassification
    folder, x_path, out_path = sys.argv[1:]
    x = torch.load(x_path)
    backbone = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    head = AutoModelForImageClassification.from_pretrained(folder, trust_remote_code=True).eval()
    assert "oceansar_hf" not in sys.modules, "the oceansar_hf package was imported"
    with torch.no_grad():
        torch.save({"logits": head(x).logits, "pooled": backbone(x).pooler_output}, out_path)
    """
)


def test_dry_run_writes_exactly_the_upload_folder(exported, tmp_path, capsys):
    folder, model = exported
    preview = tmp_path / "preview"
    assert main([str(folder), "--repo-id", "me/oceansar-wave", "--dry-run", str(preview)]) == 0
    out = capsys.readouterr().out
    assert {p.name for p in preview.iterdir()} == UPLOADED
    for name in UPLOADED:
        assert (preview / name).read_bytes() == (folder / name).read_bytes()
        assert f"  {name}  (" in out
    assert "not uploaded: notes.txt" in out
    assert (
        "to me/oceansar-wave (branch main, default visibility, commit message 'Upload export with oceansar-hf'" in out
    )
    assert (
        "load check: running the folder's Python code (configuration_oceansar.py, image_processing_oceansar.py, "
        "modeling_oceansar.py) in a fresh process without your token, stored login or environment, Hub offline "
        "(--no-load-check checks without running it)"
    ) in out
    assert (
        "loads as OceanSARModel, OceanSARForImageClassification, OceanSARImageProcessor with trust_remote_code "
        "in a fresh, isolated process"
    ) in out

    x = torch.randn(2, 1, TEST_SIZE, TEST_SIZE)
    torch.save(x, tmp_path / "x.pt")
    run_fresh_python(FRESH_LOAD, str(preview), str(tmp_path / "x.pt"), str(tmp_path / "out.pt"), cwd=tmp_path)
    result = torch.load(tmp_path / "out.pt")
    torch.testing.assert_close(result["logits"], model_outputs(model, x), rtol=0, atol=1e-5)
    torch.testing.assert_close(result["pooled"], model_outputs(model.oceansar, x), rtol=0, atol=1e-5)

    assert "already exists and is not empty" in refused([str(folder), "--repo-id", "a/b", "--dry-run", str(preview)])


@pytest.mark.parametrize("name", ["pytorch_model.bin", "weights.pth", "ckpt.pth.tar", "features.pkl", "last.ckpt"])
def test_pickle_weights_are_refused(folder, tmp_path, name):
    (folder / name).write_bytes(b"\x80\x04pickle")
    message = refused([str(folder), "--repo-id", "me/x", "--dry-run", str(tmp_path / "preview")])
    assert f"contains pickle weights ['{name}']" in message
    assert not (tmp_path / "preview").exists()


def test_broken_cards_and_missing_files_are_refused(folder, tmp_path):
    argv = [str(folder), "--repo-id", "me/x", "--dry-run", str(tmp_path / "preview")]
    readme = folder / "README.md"
    text = readme.read_text()
    readme.write_text("---\nlicense: [apache-2.0\ntags: {\n---\n# broken\n")
    assert "the model card metadata does not parse" in refused(argv)
    readme.write_text(text.replace("license: apache-2.0\n", ""))
    assert "the card metadata lacks ['license']" in refused(argv)
    readme.unlink()
    assert "is missing ['README.md']" in refused(argv)
    readme.write_text(text)
    (folder / "modeling_oceansar.py").unlink()
    assert "is missing ['modeling_oceansar.py']" in refused(argv)
    assert not (tmp_path / "preview").exists()


def test_folder_that_does_not_load_is_refused(folder, tmp_path):
    (folder / "modeling_oceansar.py").write_text("raise ImportError('broken model code')\n")
    message = refused([str(folder), "--repo-id", "me/x", "--dry-run", str(tmp_path / "preview")])
    assert "does not load with AutoModel.from_pretrained (trust_remote_code=True unless" in message
    assert "broken model code" in message
    assert not (tmp_path / "preview").exists() and list(tmp_path.glob(".preview*")) == []


class FakeHub:
    """The Hub's HTTP API as far as create_repo / create_branch / upload_folder use it; records every request."""

    PULL_REQUEST = {
        "title": "Add wave head",
        "num": 1,
        "author": {"name": "me"},
        "createdAt": "2026-01-01T00:00:00.000Z",
        "status": "draft",
        "repo": {"name": "me/oceansar-wave", "type": "model"},
        "isPullRequest": True,
        "events": [],
        "changes": {"base": "refs/heads/main"},
        "filesWithConflicts": [],
    }

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.requests.append(request)
        path = request.url.path
        if path == "/api/repos/create":
            return httpx2.Response(200, json={"url": "https://huggingface.co/me/oceansar-wave"})
        if path == "/api/validate-yaml":
            return httpx2.Response(200, json={})
        if "/branch/" in path:
            return httpx2.Response(200, json={})
        if path.endswith("/discussions") and request.method == "POST":  # upload_folder(create_pr=True): draft PR
            return httpx2.Response(200, json={"num": 1})
        if path.endswith("/discussions/1"):
            return httpx2.Response(200, json=self.PULL_REQUEST)
        if "/preupload/" in path:
            files = json.loads(request.content)["files"]
            return httpx2.Response(
                200,
                json={"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]},
            )
        if "/commit/" in path:
            return httpx2.Response(
                200,
                json={"commitUrl": "https://huggingface.co/me/oceansar-wave/commit/" + "c" * 40, "commitOid": "c" * 40},
            )
        return httpx2.Response(404, json={"error": f"unexpected request {request.method} {path}"})

    def find(self, fragment: str, method: str = "POST") -> httpx2.Request:
        matches = [r for r in self.requests if fragment in r.url.path and r.method == method]
        assert len(matches) == 1, [str(r.url) for r in self.requests]
        return matches[0]


@pytest.fixture
def hub(monkeypatch):
    fake = FakeHub()
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(fake)))
    yield fake
    set_client_factory(default_client_factory)


@pytest.mark.parametrize("mode", ["branch", "pull-request"])
def test_upload_sends_exactly_the_checked_folder(folder, tmp_path, hub, monkeypatch, capfd, caplog, mode):
    checked = []
    monkeypatch.setattr(
        push_module, "check_loads", lambda path: checked.append({p.name for p in path.iterdir()}) or "OceanSARModel"
    )
    caplog.set_level(logging.DEBUG)
    flags = ["--revision", "dev", "--private"] if mode == "branch" else ["--create-pr"]
    argv = [str(folder), "--repo-id", "me/oceansar-wave", "--commit-message", "Add wave head", *flags]
    assert main(argv) == 0

    assert checked == [UPLOADED]
    create = json.loads(hub.find("/api/repos/create").content)
    visibility = {"visibility": "private"} if mode == "branch" else {}  # no --private: the Hub's default
    assert create == {"name": "oceansar-wave", "organization": "me", "type": "model", **visibility}
    if mode == "branch":
        hub.find("/api/models/me/oceansar-wave/branch/dev")
        commit = hub.find("/api/models/me/oceansar-wave/commit/dev")
    else:
        assert not [r for r in hub.requests if "/branch/" in r.url.path]
        assert hub.find("/preupload/main").url.params["create_pr"] == "1"
        pull_request = json.loads(hub.find("/api/models/me/oceansar-wave/discussions").content)
        assert pull_request["title"] == "Add wave head"
        commit = hub.find("/api/models/me/oceansar-wave/commit/refs/pr/1")
    lines = [json.loads(line) for line in commit.content.decode().splitlines()]
    assert lines[0] == {"key": "header", "value": {"summary": "Add wave head", "description": ""}}
    sent = {line["value"]["path"]: base64.b64decode(line["value"]["content"]) for line in lines[1:]}
    assert set(sent) == UPLOADED
    for name, content in sent.items():
        assert content == (folder / name).read_bytes()
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in hub.requests)

    captured = capfd.readouterr()
    expected_url = "discussions/1" if mode == "pull-request" else "commit/" + "c" * 40
    assert f"uploaded 7 files: https://huggingface.co/me/oceansar-wave/{expected_url}" in captured.out
    assert TOKEN not in captured.out + captured.err + caplog.text
    assert not any(TOKEN.encode() in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())


def test_upload_refusals_before_any_request(folder, hub, monkeypatch):
    argv = [str(folder), "--repo-id", "me/x"]
    assert "cannot target --revision 'dev'" in refused([*argv, "--create-pr", "--revision", "dev"])
    monkeypatch.setattr(push_module, "get_token", lambda: None)
    assert "no Hugging Face token: set HF_TOKEN or run `hf auth login`" in refused(argv)
    assert hub.requests == []


SPY = textwrap.dedent(
    """
    # --- appended by the test: what malicious model code would try, reported to a file instead of the network
    import json as _json, os as _os
    from pathlib import Path as _Path

    def _read(path):
        try:
            return _Path(path).expanduser().read_text()
        except OSError:
            return None

    try:
        from huggingface_hub import get_token as _get_token
        _token = _get_token()
    except Exception as _error:
        _token = repr(_error)
    _Path({report!r}).write_text(_json.dumps({{
        "get_token": _token,
        "environment": dict(_os.environ),
        "stored_login": _read(_os.path.join(_os.environ.get("HF_HOME", "~/.cache/huggingface"), "token")),
        "token_path": _read(_os.environ.get("HF_TOKEN_PATH", "~/.cache/huggingface/token")),
        "home_login": _read("~/.cache/huggingface/token"),
        "cwd": _os.getcwd(),
    }}))
    """
)


def test_load_check_cannot_see_the_token_or_the_stored_login(folder, tmp_path, monkeypatch):
    """A folder whose code looks for credentials finds none: not in the environment, not in the stored login."""
    login_home = tmp_path / "parent-hf-home"  # the user's login, as `hf auth login` stores it
    login_home.mkdir()
    (login_home / "token").write_text(TOKEN)
    monkeypatch.setenv("HF_HOME", str(login_home))
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", TOKEN)
    monkeypatch.setenv("SOME_CLOUD_SECRET", TOKEN)
    report = tmp_path / "spy.json"
    spy = SPY.format(report=str(report))
    with (folder / "modeling_oceansar.py").open("a") as code:
        code.write(spy)

    # the spy works: run with the caller's environment, it finds the token everywhere it looks
    run_fresh_python(spy, cwd=tmp_path)
    seen = json.loads(report.read_text())
    assert seen["get_token"] == TOKEN and seen["stored_login"] == TOKEN and seen["environment"]["HF_TOKEN"] == TOKEN
    report.unlink()

    assert main([str(folder), "--repo-id", "me/x", "--dry-run", str(tmp_path / "preview")]) == 0
    seen = json.loads(report.read_text())  # the folder's code did run, inside the load check
    assert TOKEN not in json.dumps(seen)
    assert seen["get_token"] is None
    assert seen["stored_login"] is None and seen["token_path"] is None and seen["home_login"] is None
    environment = seen["environment"]
    assert not {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "SOME_CLOUD_SECRET", "PYTHONPATH"} & set(environment)
    assert environment["HF_HUB_OFFLINE"] == "1"
    for key in ("HOME", "HF_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        assert "oceansar-load-check-" in environment[key] and str(login_home) not in environment[key]
    assert "oceansar-load-check-" in seen["cwd"] and not seen["cwd"].startswith(str(tmp_path))


def test_no_load_check_checks_tensors_without_running_code(folder, tmp_path, capsys):
    marker = tmp_path / "code-ran"
    (folder / "modeling_oceansar.py").open("a").write(f"\nopen({str(marker)!r}, 'w').close()\n")
    argv = [str(folder), "--repo-id", "me/x", "--no-load-check", "--dry-run", str(tmp_path / "preview")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert not marker.exists() and "load check: running" not in out
    assert "checked: 74 tensors match OceanSARForImageClassification built from config.json (no code run); " in out
    assert "code files differ from the installed oceansar_hf 0.1.0: ['modeling_oceansar.py'] (not run" in out
    assert {p.name for p in (tmp_path / "preview").iterdir()} == UPLOADED

    config = json.loads((folder / "config.json").read_text())
    write_json(folder / "config.json", {**config, "num_labels": 3, "id2label": {str(i): str(i) for i in range(3)}})
    message = refused([*argv[:-1], str(tmp_path / "preview-2")])
    assert message.startswith(f"error: {folder} safetensors does not match the target architecture")
    assert "classifier.weight (checkpoint (1, " in message and "model (3, " in message
    write_json(folder / "config.json", {**config, "model_type": "resnet"})
    assert "--no-load-check verifies OceanSAR folders" in refused([*argv[:-1], str(tmp_path / "preview-3")])
    assert not (tmp_path / "preview-2").exists() and not (tmp_path / "preview-3").exists()


def test_offline_push_ends_with_one_clear_line(folder, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_TOKEN": TOKEN}
    run = subprocess.run(
        [sys.executable, "-m", "conversion.push_to_hub", str(folder), "--repo-id", "me/x", "--no-load-check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: cannot reach the Hugging Face Hub (OfflineModeIsEnabled: ")
    assert "nothing was committed" in lines[0] and TOKEN not in run.stdout + run.stderr


def test_unreachable_hub_is_a_clear_error(folder, monkeypatch):
    def unreachable(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("[Errno 111] Connection refused", request=request)

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(push_module, "check_loads", lambda path: "OceanSARModel")
    set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(unreachable)))
    try:
        message = refused([str(folder), "--repo-id", "me/x"])
    finally:
        set_client_factory(default_client_factory)
    assert message.startswith("error: cannot reach the Hugging Face Hub (ConnectError: [Errno 111] Connection refused)")
