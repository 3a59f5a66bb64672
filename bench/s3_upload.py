"""Benchmark: publishing a model through ``Registry.write_version`` on S3 vs a bare ``boto3 upload_file``.

Both run against a local moto server on 127.0.0.1, alternating, ``--repeat`` times each, on the same file.
``write_version`` also hashes the file (sha256), sends it create-only with its checksum and writes the
manifest: the ratio says what that safety costs against the plainest upload boto3 offers.

    python bench/s3_upload.py [--size-mb 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml_action.adapters.registry import Registry, S3Store  # noqa: E402
from ml_action.config import Config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import boto3
    from moto.server import ThreadedMotoServer

    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            model = Path(tmp) / "model.skops"
            with open(model, "wb") as fh:
                for _ in range(args.size_mb):
                    fh.write(os.urandom(1_000_000))
            client = boto3.client("s3", endpoint_url=endpoint)
            client.create_bucket(Bucket="bench")
            config = Config(workspace=Path(tmp), registry="s3://bench/registry", s3_endpoint_url=endpoint)
            registry = Registry(S3Store.from_config(config), "model")

            ours: list[float] = []
            plain: list[float] = []
            for n in range(args.repeat):
                start = time.perf_counter()
                registry.write_version(f"v{n + 1}", model, {"bench": True})
                ours.append(time.perf_counter() - start)

                start = time.perf_counter()
                client.upload_file(str(model), "bench", f"plain/{n}/model.skops")
                plain.append(time.perf_counter() - start)

                for key in (f"registry/model/versions/v{n + 1}/model.skops", f"plain/{n}/model.skops"):
                    client.delete_object(Bucket="bench", Key=key)
                print(f"rep {n + 1}: write_version {ours[-1]:.3f}s  upload_file {plain[-1]:.3f}s", flush=True)
    finally:
        server.stop()

    a, b = statistics.median(ours), statistics.median(plain)
    print(f"\n{args.size_mb} MB, {args.repeat} repetitions, moto on 127.0.0.1")
    print(f"Registry.write_version (S3Store): median {a:.3f}s  ({args.size_mb / a:.0f} MB/s)")
    print(f"boto3 upload_file:                median {b:.3f}s  ({args.size_mb / b:.0f} MB/s)")
    print(f"ratio write_version / upload_file: {a / b:.2f}")


if __name__ == "__main__":
    main()
