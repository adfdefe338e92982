"""``rft launch-command RUN``: the exact command each machine runs for a run of several processes.

rft has no scheduler of its own: a job on several machines is the same
``engine.training.job`` started once per machine (by hand, by Slurm's
``srun``, by SkyPilot's ``run:``), each with its ``--machine-rank``, all on one
run directory on a shared filesystem. This prints those commands from the
run's ``[distributed]`` section, with a Slurm line that fills the rank in from
``SLURM_NODEID``. ``rft train PRESET --create-only`` makes the run directory
without starting anything, for a scheduler to start. No torch here.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from engine.contract.job_command import launch_lines, visible_gpu_count
from engine.contract.runs import RunDir, find_run

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(sub: Any) -> None:
    """The ``launch-command`` subcommand's arguments."""
    launch = sub.add_parser("launch-command", help="print the command each machine runs for a run of several "
                            "processes (for a terminal per machine, Slurm or SkyPilot)")
    launch.add_argument("run", help="run name or path")
    launch.add_argument("--runs-dir", help="folder holding run directories")
    launch.add_argument("--resume", action="store_true", help="the commands that continue it from its last "
                        "complete checkpoint")


def cmd_launch_command(args: argparse.Namespace, console: Console) -> int:
    try:
        run = find_run(args.run, args.runs_dir)
    except FileNotFoundError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        return EXIT_USAGE
    return print_launch_commands(run, console, args.resume)


def print_launch_commands(run: RunDir, console: Console, resume: bool = False) -> int:
    """Print how to start ``run`` on each machine; exit status 2 when its config does not load."""
    try:
        config = run.load_config()
    except (OSError, ValueError) as error:
        console.print(f"[red]Cannot read the config of {run.name}:[/red] {error}", highlight=False)
        return EXIT_USAGE
    section, python = config.distributed, sys.executable
    path = run.path.resolve()
    if not section.several:
        console.print(f"{run.name} trains in one process; start it with:", highlight=False)
        command = [python, "-m", "engine.training.worker", str(path)] + (["--resume"] if resume else [])
        console.print(f"  cd {shlex.quote(str(Path.cwd()))} && {shlex.join(command)}", highlight=False, markup=False)
        return EXIT_OK
    per = section.processes_per_machine(visible_gpu_count())
    count = "every visible GPU" if section.num_processes == "auto" else f"{per} process(es)"
    console.print(f"{run.name}: {section.num_machines} machine(s) × {count}, strategy {section.strategy}",
                  highlight=False)
    if section.num_machines > 1:
        console.print(f"They meet at {section.main_process_ip}:{section.main_process_port} (machine 0). The run "
                      f"directory {path} must be at the same path on every machine (a shared filesystem), and so "
                      "must this Python environment.", highlight=False)
    for line in launch_lines(path, section, resume, python):
        console.print(f"  {line}", highlight=False, markup=False)
    if section.num_machines > 1:
        job = shlex.join([python, "-m", "engine.training.job", str(path)] + (["--resume"] if resume else []))
        slurm = (f"srun --nodes {section.num_machines} --ntasks-per-node 1 bash -c "
                 + shlex.quote(f"cd {shlex.quote(str(Path.cwd()))} && {job} --machine-rank $SLURM_NODEID"))
        console.print("Under Slurm, from a batch script holding the machines:", highlight=False)
        console.print(f"  {slurm}", highlight=False, markup=False)
        console.print("SkyPilot: the same line in the task's run:, with $SKYPILOT_NODE_RANK for the rank and "
                      "main_process_ip set to the first node's address.", highlight=False)
    console.print(f"Follow it with `rft runs` or the dashboard; `rft stop {run.name}` stops every machine.",
                  highlight=False)
    return EXIT_OK
