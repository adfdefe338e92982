"""The ``rft`` command line: train, list, stop, resume and export runs headless; list the models to train.

``rft train PRESET`` starts the very same detached worker the dashboard
starts and prints progress from the same events. Nothing here imports torch.

Exit status: 0 done, 2 refused before doing anything (usage, a bad preset, a
run or file that is not there), 1 an operation that ran and failed. An error
is printed as a message and, when the user's own code raised, that code's
frames; never rft's own (a bug of rft's says where its traceback was kept).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime

from rich.console import Console
from rich.table import Table

from engine.contract.config import ConfigError
from engine.contract.launch import start_run
from engine.contract.presets import load_config
from engine.contract.run_summary import summarize
from engine.contract.runs import RunDir, create_run, default_runs_dir, find_run, is_whole_model, list_runs
from engine.contract.user_traceback import keep_full, user_report
from engine.tracking import open_hints
from rft_tui.eval_command import add_parser as add_eval_parser, cmd_eval
from rft_tui.export_command import add_parser as add_export_parser, cmd_export
from rft_tui.follow import follow
from rft_tui.launch_command import add_parser as add_launch_parser, cmd_launch_command, print_launch_commands
from rft_tui.models_command import add_parser as add_models_parser, cmd_models

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rft", description="Fine-tune language models on one local GPU.")
    sub = parser.add_subparsers(dest="command")

    train = sub.add_parser("train", help="train a preset in the background worker and show progress")
    train.add_argument("preset", help="a preset file, or the name of a shipped preset (e.g. 'sft')")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value, e.g. --set training.learning_rate=1e-4 (repeatable)")
    train.add_argument("--max-steps", type=int, help="shorthand for --set training.max_steps=N")
    train.add_argument("--runs-dir", help="folder for run directories (default: the preset's output.runs_dir)")
    train.add_argument("--detach", action="store_true", help="start the run and return at once")
    train.add_argument("--create-only", action="store_true", help="make the checked run directory, start nothing "
                       "and print each machine's command (for Slurm, SkyPilot)")

    runs = sub.add_parser("runs", help="list runs with state, method, step and last loss")
    runs.add_argument("--runs-dir", help="folder holding run directories (default: ./runs or $RFT_RUNS_DIR)")

    rewards = sub.add_parser("rewards", help="work with reward functions")
    rewards_sub = rewards.add_subparsers(dest="rewards_command", required=True)
    dry = rewards_sub.add_parser("dry-run", help="score answers with a preset's reward functions before training")
    dry.add_argument("preset", help="a preset file or the name of a shipped or saved preset")
    dry.add_argument("--rewards", action="append", default=[], metavar="NAME",
                     help="use these rewards instead of the preset's: a built-in name, FILE.py:FUNCTION, or FILE.py "
                     "for all of its functions (repeatable)")
    dry.add_argument("-n", type=int, default=8, help="how many of the dataset's prompts (default 8)")
    dry.add_argument("--source", choices=["model", "reference", "text"], default="model",
                     help="score answers the model generates (default), the dataset's reference answers, or --text")
    dry.add_argument("--per-prompt", type=int, default=4, help="answers generated per prompt (default 4)")
    dry.add_argument("--text", action="append", default=[], help="an answer to score (with --source text)")
    dry.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    dry.add_argument("--json", help="also write the full result to this file")

    app = sub.add_parser("app", help="open the dashboard (the default with no command)")
    app.add_argument("run", nargs="?", help="open this run's dashboard directly")
    app.add_argument("--runs-dir", help="folder holding run directories (default: ./runs or $RFT_RUNS_DIR)")

    add_export_parser(sub)

    add_eval_parser(sub)
    add_launch_parser(sub)
    add_models_parser(sub)

    resume = sub.add_parser("resume", help="continue a stopped, failed or crashed run from its last checkpoint")
    resume.add_argument("run", help="run name or path")
    resume.add_argument("--runs-dir", help="folder holding run directories")
    resume.add_argument("--detach", action="store_true", help="resume it and return at once")

    stop = sub.add_parser("stop", help="ask a run to finish its step, save and stop")
    stop.add_argument("run", help="run name or path")
    stop.add_argument("--runs-dir", help="folder holding run directories")
    return parser


def cmd_train(args: argparse.Namespace, console: Console) -> int:
    overrides = list(args.overrides)
    if args.max_steps is not None:
        overrides.append(f"training.max_steps={args.max_steps}")
    try:
        config = load_config(args.preset, overrides)
    except ConfigError as error:
        console.print(f"[red]Cannot use this preset:[/red]\n{error}", highlight=False)
        return EXIT_USAGE
    from engine.planning.preflight import check

    with console.status("checking the dataset and the rewards…"):
        report = check(config, here=not args.create_only)
    if report.problems:
        console.print("[red]This run would fail, so it was not started:[/red]")
        console.print(str(report.error()), highlight=False, markup=False)  # messages quote [[rewards]]
        return EXIT_USAGE
    for warning in report.warnings:
        console.print(f"⚠ {warning.message}", style="yellow", highlight=False, markup=False)
    runs_dir = args.runs_dir or os.environ.get("RFT_RUNS_DIR") or config.output.runs_dir
    if args.create_only:
        run = create_run(config, runs_dir)
        console.print(f"run [bold]{run.name}[/bold] created in {run.path}, not started", highlight=False)
        return print_launch_commands(run, console)
    run, _ = start_run(config, runs_dir)
    console.print(f"run [bold]{run.name}[/bold] started in {run.path}", highlight=False)
    return _follow_to_end(run, console, args.detach)


def cmd_resume(args: argparse.Namespace, console: Console) -> int:
    from engine.contract.launch import ResumeError, resume_run

    run = _find_run(args, console)
    if run is None:
        return EXIT_USAGE
    try:
        resume_run(run)
    except ResumeError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        return EXIT_USAGE
    console.print(f"resuming [bold]{run.name}[/bold] from the last complete checkpoint of the stage it stopped in",
                  highlight=False)
    return _follow_to_end(run, console, args.detach)


def _follow_to_end(run: RunDir, console: Console, detach: bool) -> int:
    """Print a run's progress until it ends; Ctrl+C stops it politely, a second one leaves it running."""
    if detach:
        console.print(f"follow it with `rft runs`; stop it with `rft stop {run.name}`", highlight=False)
        return EXIT_OK

    interrupts = 0

    def on_interrupt() -> bool:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            run.send_command("stop")
            console.print("stopping after this step and saving (Ctrl+C again to leave it running in the background)")
            return True
        console.print(f"left running in the background; `rft stop {run.name}` stops it")
        return False

    state = follow(run, console, on_interrupt)
    if state.state in {"done", "stopped"}:
        what = "fine-tuned model" if is_whole_model(run.adapter_dir) else "adapter"
        console.print(f"{state.state}: {what} in {run.adapter_dir}", highlight=False)
        console.print(f"run directory: {run.path}", highlight=False)
        return EXIT_OK
    if state.state in {"failed", "crashed"}:
        console.print(f"[red]{state.state}:[/red] {state.error or 'see worker.log'}", highlight=False)
        console.print(f"details: {run.events_path} and {run.log_path}; `rft resume {run.name}` continues it",
                      highlight=False)
        return EXIT_FAILED
    return EXIT_OK  # detached by a second Ctrl+C


def _print_failure(console: Console, headline: str, message: str, traceback: str | None = None,
                   log: str | None = None) -> None:
    """A failure as people read it: the message, the user's own frames, or where rft's traceback is."""
    console.print(f"[red]{headline}[/red] ", end="", highlight=False)
    console.print(user_report(message, traceback, log), highlight=False, markup=False)


def cmd_runs(args: argparse.Namespace, console: Console) -> int:
    if args.runs_dir and not os.path.isdir(args.runs_dir):
        console.print(f"[red]no folder {args.runs_dir}[/red]: --runs-dir names the folder holding the run "
                      "directories (`rft train --runs-dir` makes it)", highlight=False)
        return EXIT_USAGE
    runs_dir = args.runs_dir or default_runs_dir()
    runs = list_runs(runs_dir)
    if not runs:
        console.print(f"no runs in {runs_dir}")
        return EXIT_OK
    table = Table("run", "state", "method", "model", "step", "loss", "best eval", "started", box=None)
    for run in runs:
        s = summarize(run)
        loss = f"{s.metrics['loss']:.4f}" if "loss" in s.metrics else "-"
        started = datetime.fromtimestamp(s.started_at).strftime("%m-%d %H:%M") if s.started_at else "-"
        table.add_row(s.name, s.state, s.method, s.model, s.progress, loss, s.best_text, started)
    console.print(table)
    for hint in open_hints([run.path for run in runs], runs_dir):
        console.print(f"open in {hint}", style="dim", highlight=False)
    return EXIT_OK


def _find_run(args: argparse.Namespace, console: Console) -> RunDir | None:
    """The run named on the command line, or None after saying why there is none."""
    try:
        return find_run(args.run, args.runs_dir)
    except FileNotFoundError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        return None


def cmd_stop(args: argparse.Namespace, console: Console) -> int:
    run = _find_run(args, console)
    if run is None:
        return EXIT_USAGE
    status = run.status()
    if status.is_final:
        console.print(f"{run.name} is already {status.state}")
        return EXIT_OK
    run.send_command("stop")
    console.print(f"asked {run.name} to stop; it saves a checkpoint and the adapter after the current step")
    return EXIT_OK


def cmd_rewards(args: argparse.Namespace, console: Console) -> int:
    import json

    from engine.contract.config import config_from_dict
    from engine.rewards.user_files import RewardError, check_syntax, functions_in, resolve_reward
    from rft_tui.dry_run_client import run_dry_run
    from rft_tui.dry_run_report import print_report

    try:
        config = load_config(args.preset, args.overrides)
        if args.rewards:
            names = [n for r in args.rewards for n in (functions_in(r) if r.endswith(".py") else [r])]
            data = config.model_dump(mode="json", exclude_none=True)
            config = config_from_dict({**data, "rewards": [{"name": n} for n in names]}, "--rewards")
        for spec in config.rewards:  # a file that is not there, or not Python, is refused before any code runs
            if ":" in spec.name:
                check_syntax(*resolve_reward(spec.name))
    except SyntaxError as error:
        console.print(f"[red]{error.filename}, line {error.lineno}: {error.msg}[/red]", highlight=False)
        return EXIT_USAGE
    except ConfigError as error:
        console.print(f"[red]Cannot use this preset:[/red]\n{error}", highlight=False)
        return EXIT_USAGE
    except RewardError as error:
        console.print(f"[red]Cannot use this reward:[/red] {error}", highlight=False)
        return EXIT_USAGE
    if args.source == "text" and not args.text:
        console.print("[red]--source text needs at least one --text ANSWER[/red]")
        return EXIT_USAGE
    with console.status("starting the dry run…") as status:
        result = run_dry_run(config, args.n, args.source, args.per_prompt, args.text,
                             on_progress=lambda d, t: status.update(f"generating answers: prompt {d}/{t}"),
                             on_line=lambda line: console.print(line, highlight=False))
    if "error" in result:
        _print_failure(console, "dry run failed:", result["error"], result.get("traceback"), result.get("log"))
        return EXIT_FAILED
    print_report(result, console)
    if args.json:
        from engine.contract.atomic_files import atomic_write_text

        atomic_write_text(args.json, json.dumps(result, indent=2))
    return EXIT_OK


def cmd_app(args: argparse.Namespace, console: Console) -> int:
    from rft_tui.app import RftApp

    run = None
    if getattr(args, "run", None):
        run = _find_run(args, console)
        if run is None:
            return EXIT_USAGE
    RftApp(runs_dir=getattr(args, "runs_dir", None), open_run=run).run()
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(soft_wrap=True)
    if not console.is_terminal:
        console.width = 160  # logs and pipes: don't squeeze tables to 80 columns
    if args.command is None:
        args.command, args.run, args.runs_dir = "app", None, None
    handler = {"train": cmd_train, "runs": cmd_runs, "stop": cmd_stop, "app": cmd_app,
               "rewards": cmd_rewards, "export": cmd_export, "resume": cmd_resume, "eval": cmd_eval,
               "models": cmd_models, "launch-command": cmd_launch_command}[args.command]
    try:
        return handler(args, console)
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    except Exception as error:  # a bug of rft's: the message here, the whole traceback in a log
        import traceback

        full = traceback.format_exc()
        _print_failure(console, f"rft {args.command} failed:", f"{type(error).__name__}: {error}", full,
                       str(keep_full("cli", full)))
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
