# ml-action: a Docker GitHub Action. Four stages on ONE base image (a venv made by the base's
# python3 only runs on that same base):
#   deps  - /opt/venv with the hash-pinned runtime dependencies, trimmed and stripped; cached until
#           requirements.lock changes, so code changes reuse it
#   venv  - the same venv without pip/setuptools, checked by a smoke test: what the image gets
#   app   - the ml-action package, installed (non-editable, --no-deps) into /opt/ml-action/lib,
#           which a .pth file in the venv puts on sys.path
#   final - base + venv layer + small package layer: a code-only change rebuilds only the small
#           layers, the big dependency layer is reused as is.
#
# requirements.lock includes the `dask` extra (dask + distributed, for `dask-scheduler`: +8 MB gzip,
# docs/container.md); ml-action imports them only when a scheduler is set.
# Default base: Debian bookworm's CPython 3.11, as requirements.lock is resolved for 3.11.
# Pin by digest when publishing: python:3.11-slim-bookworm@sha256:<digest>.
# Without Docker, .ci/container-setup.sh builds localhost/pybase:bookworm (debootstrap minbase +
# python3 3.11 + python3-venv): pass --build-arg BASE_IMAGE=localhost/pybase:bookworm.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
# binutils (strip) is the one build tool, and only in this stage: the final image starts again from the base.
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends binutils \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
COPY requirements.lock /tmp/requirements.lock
# Wheels only: no compilers anywhere. Then drop what is never used at run time (see docs/container.md):
# the packages' own test suites, C headers and Cython sources, pyarrow's Flight RPC and S3
# filesystem (self-contained; ml-action reads data from the workspace and talks to S3 with boto3),
# pyarrow's duplicate copies of the same shared library (turned into symlinks), the debug symbols
# of the compiled modules (strip; not the auditwheel-vendored *.libs, which stripping breaks), and the
# API models of the ~440 AWS services other than S3 and those botocore's credential chain calls (STS for
# web identity and assumed roles, SSO, SSO-OIDC, Signin): 15 MB of a pull, already gzip-compressed
# files. The venv stage checks the kept list against the clients botocore's credential code creates.
RUN /opt/venv/bin/pip install --no-cache-dir --no-compile --require-hashes --only-binary=:all: \
        -r /tmp/requirements.lock \
 && rm /tmp/requirements.lock \
 && site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
 && find "$site" -mindepth 2 -type d -name tests -prune -exec rm -rf {} + \
 && find "$site" -type f \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' \) -delete \
 && cd "$site/pyarrow" \
 && rm -rf include src flight.py _flight.* libarrow_flight.* libarrow_python_flight.* \
        _s3fs.* libarrow_s3.* \
 && for f in libarrow*.so libarrow*.so.*.*.*; do \
        s=$(ls "${f%%.so*}".so.* | grep -E '\.so\.[0-9]+$'); \
        if cmp -s "$f" "$s"; then ln -sf "$s" "$f"; fi; \
    done \
 && rm -rf "$site/numpy/_core/include" \
 && find "$site" -path '*.libs' -prune -o -type f -name '*.so*' -print0 | xargs -0 strip --strip-unneeded \
 && for service in "$site"/botocore/data/*/; do \
        case "$(basename "$service")" in s3|sts|sso|sso-oidc|signin) ;; *) rm -rf "$service" ;; esac; \
    done \
 && echo /opt/ml-action/lib > "$site/ml_action_lib.pth" \
 && ln -s /opt/ml-action/lib/bin/ml-action /opt/venv/bin/ml-action

# Byte-code is compiled once here (unchecked-hash: never re-validated, the files never change), as
# PYTHONDONTWRITEBYTECODE stops the action from caching it and every run would re-compile ~3 s of imports.
FROM deps AS venv
RUN /opt/venv/bin/python -m pip uninstall --yes pip setuptools \
 && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv/lib \
 && /opt/venv/bin/python -c "import ctypes, io, pathlib, sysconfig, pandas as pd, pyarrow.parquet, pyarrow.dataset, scipy.stats, \
sklearn.ensemble, skops.io as sio, boto3, github, actions_toolkit, yaml, jinja2, distributed, joblib._dask; \
from sklearn.linear_model import LogisticRegression; \
libs = [ctypes.CDLL(str(f)) for f in pathlib.Path(sysconfig.get_path('purelib')).rglob('*.so*') if not f.is_symlink()]; \
df = pd.read_csv(io.BytesIO(b'a,b,y\n1,2,0\n2,1,1\n3,3,0\n4,1,1\n'), engine='pyarrow'); \
buf = io.BytesIO(); df.to_parquet(buf); assert pd.read_parquet(buf).equals(df); \
blob = sio.dumps(LogisticRegression().fit(df[['a', 'b']], df.y)); \
sio.loads(blob, trusted=sio.get_untrusted_types(data=blob)); \
import re, botocore; data = pathlib.Path(botocore.__file__).parent / 'data'; \
kept = {p.name for p in data.iterdir() if p.is_dir()}; \
called = {n for f in ('credentials.py', 'tokens.py') for n in re.findall(r'(?:_client_creator|create_nested_client|create_client)\(\s*(?:\w+\._?session,\s*)?[\x27\x22]([a-z0-9-]+)', (data.parent / f).read_text())}; \
assert 'sts' in called and called <= kept, ('botocore credential chain needs', called - kept); \
[boto3.client(name, region_name='us-east-1') for name in sorted(kept)]; print('runtime smoke check ok')"

FROM deps AS app
COPY pyproject.toml /src/
COPY ml_action/ /src/ml_action/
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --no-compile --target /opt/ml-action/lib /src \
 && /opt/venv/bin/python -m compileall -q --invalidation-mode unchecked-hash /opt/ml-action/lib

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=venv /opt/venv /opt/venv
COPY --from=app /opt/ml-action/lib /opt/ml-action/lib
COPY entrypoint.py /opt/ml-action/entrypoint.py
ENTRYPOINT ["/opt/venv/bin/python", "/opt/ml-action/entrypoint.py"]
