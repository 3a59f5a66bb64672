"""Regenerate docs/comment.png, the README's picture of a PR comment, from a real run.

Copies examples/churn to a temporary folder, publishes it with the local registry (so there is a champion),
evaluates a change against that champion, renders the report's Markdown to HTML (markdown-it-py, GitHub-like
styles, <details> left collapsed as GitHub shows them) and screenshots it with headless Chromium; the
white space below the comment is cropped (Pillow).

    .venv/bin/pip install -q -e '.[docs]' && apt-get install -y chromium fonts-noto-color-emoji
    .venv/bin/python docs/make_screenshot.py [--out docs/comment.png] [--width 900]
"""

from __future__ import annotations

import argparse
import html
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHANGE = '{"max_iter": 200, "learning_rate": 0.03}'  # the change under review, as in the README's walkthrough

CSS = """
body { margin: 0; background: #fff; font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", "DejaVu Sans",
       Helvetica, Arial, sans-serif, "Noto Color Emoji"; color: #1f2328; }
.comment { margin: 16px; border: 1px solid #d1d9e0; border-radius: 6px; }
.head { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px; color: #59636e;
        border-radius: 6px 6px 0 0; }
.head b { color: #1f2328; }
.body { padding: 4px 16px 12px; }
h2 { font-size: 1.5em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; margin: 16px 0 12px; }
h3 { font-size: 1.25em; margin: 20px 0 10px; }
table { border-collapse: collapse; margin: 0 0 12px; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 4px 12px; }
th { font-weight: 600; } tr:nth-child(2n) { background: #f6f8fa; }
code { font: 12px "DejaVu Sans Mono", monospace; background: #eff1f3; padding: .2em .4em; border-radius: 6px; }
sub { color: #59636e; } details { margin: 4px 0; } summary { cursor: pointer; }
blockquote { margin: 0 0 12px; padding: 0 1em; color: #59636e; border-left: .25em solid #d1d9e0; }
"""


def run(workspace: Path, *flags: str) -> None:
    """One run of the action at a shell (no GitHub): the same code the container runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env["GITHUB_WORKSPACE"] = str(workspace)
    done = subprocess.run(
        [sys.executable, "-m", "ml_action", "run", *flags], cwd=workspace, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"ml-action run {' '.join(flags)} exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr}")


def report_markdown(workspace: Path) -> str:
    shutil.copytree(
        ROOT / "examples" / "churn",
        workspace,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(".ml-action", "ml-action-report.md"),
    )
    run(workspace, "--mode", "publish", "--model-name", "churn")
    run(workspace, "--mode", "evaluate", "--model-name", "churn", "--params", CHANGE)
    return (workspace / "ml-action-report.md").read_text()


def to_html(markdown: str) -> str:
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough").render(markdown)
    head = f"<b>github-actions</b> bot commented · {html.escape('the sticky comment of ml-action')}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{CSS}</style></head><body>"
        f"<div class='comment'><div class='head'>{head}</div><div class='body'>{body}</div></div>"
        "</body></html>"
    )


def screenshot(page: Path, out: Path, width: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not chromium:
        sys.exit("Chromium is not installed: apt-get install -y chromium fonts-noto-color-emoji")
    raw = out.with_suffix(".raw.png")
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={width},3000",
            f"--screenshot={raw}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    crop_below(raw, out)
    raw.unlink()


def crop_below(raw: Path, out: Path, margin: int = 16) -> None:
    """Cut the white space under the comment, keeping a margin."""
    from PIL import Image, ImageChops

    with Image.open(raw) as image:
        rgb = image.convert("RGB")
        box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, "white")).getbbox()
        bottom = min(rgb.height, (box[3] if box else rgb.height) + margin)
        rgb.crop((0, 0, rgb.width, bottom)).save(out, optimize=True)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--out", type=Path, default=HERE / "comment.png")
    args.add_argument("--width", type=int, default=900)
    opts = args.parse_args()
    with tempfile.TemporaryDirectory(prefix="ml-action-screenshot-") as tmp:
        workspace = Path(tmp) / "churn"
        page = Path(tmp) / "comment.html"
        page.write_text(to_html(report_markdown(workspace)), encoding="utf-8")
        screenshot(page, opts.out.resolve(), opts.width)
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
