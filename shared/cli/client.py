"""`assistants`: the command line for users of the API (not operators).

Authenticates with ASSISTANTS_API_KEY against ASSISTANTS_API_URL. `batch run` uploads a JSONL
file, shows progress, and writes the results; Ctrl-C stops only the waiting, never the batch.
"""

import time
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(help="Use the Assistants API from the command line.", no_args_is_help=True)
batch_app = typer.Typer(help="Run batches of execute items.", no_args_is_help=True)
app.add_typer(batch_app, name="batch")
console = Console(stderr=True)

ApiKey = typer.Option(..., envvar="ASSISTANTS_API_KEY", help="Your API key.", show_default=False)
ApiUrl = typer.Option(
    "http://127.0.0.1:8000", envvar="ASSISTANTS_API_URL", help="The API's base URL."
)


def _client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120)


def _check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
            message = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            message = response.text[:500]
        console.print(f"[red]HTTP {response.status_code}[/red] {message}")
        raise typer.Exit(1)
    return response.json()


def _wait(client: httpx.Client, batch_id: str, poll: float) -> dict[str, Any]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[counts]}"),
        TextColumn("{task.fields[rate]:.1f}/s"),
        TimeElapsedColumn(),
    )
    started = time.monotonic()
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"batch {batch_id}", total=None, counts="", rate=0.0)
        while True:
            batch = _check(client.get(f"/api/batches/{batch_id}"))
            counts = batch["counts"]
            done = counts["succeeded"] + counts["failed"] + counts["cancelled"]
            summary = " ".join(f"{name}={value}" for name, value in counts.items() if value)
            rate = done / max(time.monotonic() - started, 1e-6)
            progress.update(
                task, total=batch["totalItems"], completed=done, counts=summary, rate=rate
            )
            if batch["status"] in ("completed", "cancelled"):
                return batch
            time.sleep(poll)


def _write_results(client: httpx.Client, batch_id: str, out: Path) -> int:
    lines = 0
    with (
        client.stream("GET", f"/api/batches/{batch_id}/results") as response,
        out.open("wb") as sink,
    ):
        if response.status_code >= 400:
            response.read()
            _check(response)
        for line in response.iter_lines():
            if line:
                sink.write(line.encode() + b"\n")
                lines += 1
    return lines


def _wait_and_write(client: httpx.Client, batch_id: str, out: Path, poll: float) -> None:
    try:
        batch = _wait(client, batch_id, poll)
    except KeyboardInterrupt:
        console.print(
            f"\nStopped waiting; the batch goes on. Resume with:\n"
            f"  assistants batch wait {batch_id} --out {out}"
        )
        raise typer.Exit(130) from None
    written = _write_results(client, batch_id, out)
    console.print(f"batch {batch_id} {batch['status']}: {written} results written to {out}")


@batch_app.command("run")
def run(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL: one item a line."),
    assistant: str = typer.Option(..., "--assistant", help="The assistant's id."),
    out: Path = typer.Option(Path("results.jsonl"), "--out", help="Where to write the results."),
    poll: float = typer.Option(1.0, help="Seconds between progress checks."),
    key: str = ApiKey,
    url: str = ApiUrl,
) -> None:
    """Upload FILE as a batch for an assistant, follow its progress, and write the results."""
    with _client(url, key) as client, file.open("rb") as handle:
        batch = _check(
            client.post(f"/api/assistants/{assistant}/batches", files={"file": (file.name, handle)})
        )
        console.print(f"batch {batch['id']}: {batch['totalItems']} items accepted")
        for item in batch["invalidItems"][:20]:
            console.print(
                f"  [yellow]invalid[/yellow] line {item['index'] + 1} ({item['customId']}): {item['errors']}"
            )
        _wait_and_write(client, batch["id"], out, poll)


@batch_app.command("wait")
def wait(
    batch_id: str,
    out: Path = typer.Option(Path("results.jsonl"), "--out"),
    poll: float = typer.Option(1.0),
    key: str = ApiKey,
    url: str = ApiUrl,
) -> None:
    """Wait for a batch that is already running, then write its results."""
    with _client(url, key) as client:
        _wait_and_write(client, batch_id, out, poll)
