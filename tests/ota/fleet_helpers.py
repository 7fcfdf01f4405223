"""The over-the-air test fleet: keys, a repository with release 1 served over HTTP on 127.0.0.1,
and a device holding release 1 (a fixture of every test under tests/ota)."""

import contextlib
import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from squeezenet.compression.options import CompressOptions
from squeezenet.compression.pipeline import compress
from squeezenet.formats.loaded import LoadedModel
from squeezenet.formats.preprocess import Preprocess
from squeezenet.models import SqueezeNet, SqueezeNetConfig
from squeezenet.ota.device import Device
from squeezenet.ota.keys import KeyStore, init_keys
from squeezenet.ota.publish import Repository

MODEL = "demo"


def model_file(seed: int = 0, scale: float = 1.0, classes=("a", "b", "c"), layout: str = "v1_1") -> bytes:
    torch.manual_seed(seed)
    config = SqueezeNetConfig(layout=layout, base_e=32, incr_e=32, num_classes=len(classes))
    model = SqueezeNet(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    loaded = LoadedModel(model, Preprocess(crop=64, resize=72), "x", list(classes))
    return compress(loaded, CompressOptions(bits=5), progress=False).data


class Handler(SimpleHTTPRequestHandler):
    mode = "normal"  # drip: one byte every 50 ms; stall: headers, then nothing, for model files

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        if self.mode == "normal" or not self.path.endswith((".sqz", ".sqzpatch")):
            return super().do_GET()
        path = Path(self.translate_path(self.path))
        data = path.read_bytes() if path.is_file() else b""
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):
            for i in range(len(data)):
                if self.mode == "stall":
                    time.sleep(10)
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                time.sleep(0.05)


@pytest.fixture()
def fleet(tmp_path):
    """Keys (root 2 of 2), a repository with release 1, its server, and a device holding release 1."""
    init_keys(tmp_path / "keys", root_keys=2, root_threshold=2)
    keys, repo = KeyStore(tmp_path / "keys"), Repository(tmp_path / "repo")
    base = model_file()
    repo.publish(keys, MODEL, base)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(tmp_path / "repo")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    device = Device(tmp_path / "device")
    device.provision(tmp_path / "repo" / "metadata" / "1.root.json", base, release=1)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    yield type("Fleet", (), {"keys": keys, "repo": repo, "device": device, "url": url, "base": base, "tmp": tmp_path})
    Handler.mode = "normal"
    server.shutdown()
    server.server_close()
