"""`slurm`: each run is a Slurm batch job (issue 13).

mlrun stays on the submitting machine and watches the job as it would a local process:
the job's output files are streamed into the run's logs and the terminal, its end and
exit code come from Slurm, a signal to mlrun cancels the job, and what the job is (id,
partition, node, state) goes into the run's record as `mlrun.slurm.*` tags. Envs are
built here, once, in a cache the compute nodes see (`env_cache`), before the job is
submitted. Modules: config.py (the settings), script.py (the batch script, its
environment file), ctl.py (sbatch, squeue, sacct, scancel), watch.py (one poller for
every job of the process), child.py (the job as the supervisor's Child), states.py (how
a job's end maps to the run's), reconcile.py (runs whose mlrun process died)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlrun.backends.slurm import config as slurm_config
from mlrun.envs.base import EnvPlan, Launch, PreparedEnv, ProcessSpec
from mlrun.errors import UsageError
from mlrun.execution.child import Child
from mlrun.reporting import Reporter
from mlrun.spec.model import Command
from mlrun.tracking.base import RunStore
from mlrun.tracking.model import Run

DRY_RUN_DIR = Path("RUN_DIR")  # stands for runs/<run id>/ in --dry-run's script


class SlurmBackend:
    name = "slurm"

    def check(self, env_plan: EnvPlan, config: Mapping[str, Any]) -> None:
        slurm_config.parse(config)
        if env_plan.starts == "container":
            raise UsageError(
                "the Slurm backend runs commands as batch jobs, not containers, so it "
                "cannot run this docker_env project",
                hint="give the project a python_env or conda_env for the cluster, or run it "
                "with -b local",
            )

    def env_cache(self, config: Mapping[str, Any]) -> Path | None:
        return slurm_config.parse(config).env_cache

    def describe(
        self, env_plan: EnvPlan, command: Command, cwd: Path, config: Mapping[str, Any]
    ) -> dict[str, Any]:
        from mlrun.backends.slurm.script import JOB_DIR, JobFiles, sbatch_options, script

        cfg = slurm_config.parse(config)
        files = JobFiles(DRY_RUN_DIR / JOB_DIR)
        argv = ProcessSpec(command, cwd, {}).argv()
        options = sbatch_options("RUN_ID", files, cwd, cfg, _what(cwd))
        return {
            "name": self.name,
            "sbatch": shlex.join(["sbatch", "--parsable", *options, str(files.script)]),
            "env_cache": str(cfg.env_cache) if cfg.env_cache else "mlrun's cache",
            "script": script(argv, cwd, files, cfg, "mlrun run RUN_ID"),
        }

    def start(
        self, env: PreparedEnv, launch: Launch, config: Mapping[str, Any], reporter: Reporter
    ) -> Child:
        from mlrun.backends.slurm import ctl
        from mlrun.backends.slurm.child import SlurmChild
        from mlrun.backends.slurm.script import (
            JOB_DIR,
            JobFiles,
            environ_file,
            sbatch_environ,
            sbatch_options,
            script,
            write_private,
        )

        cfg = slurm_config.parse(config)
        what = env.what_to_start(launch)
        assert isinstance(what, ProcessSpec), "check() refuses containers"
        ctl.require_sbatch()
        files = JobFiles(launch.run_dir.parent / JOB_DIR)
        files.directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(files.directory, 0o700)  # only the user reads the run's environment
        write_private(files.environ, environ_file(what.environ))
        text = script(what.argv(), what.cwd, files, cfg, f"mlrun run {launch.run_id}")
        files.script.write_text(text)
        partition = cfg.options.get("partition")
        try:
            job_id = ctl.submit(
                sbatch_options(launch.run_id, files, what.cwd, cfg, _what(what.cwd)),
                files.script,
                sbatch_environ(os.environ, cfg),
                partition,
            )
        except BaseException:
            files.environ.unlink(missing_ok=True)
            raise
        reporter.info(f"submitted Slurm job {job_id}" + (f" to {partition}" if partition else ""))
        limits = {k: v for k, v in cfg.options.items() if k in ("time", "mem")}
        return SlurmChild(
            job_id,
            files,
            partition=partition or "",
            limits=limits,
            poll_interval=cfg.poll_interval,
            on_trouble=reporter.warn,
        )

    def reconcile(
        self, store: RunStore, runs: Sequence[Run], reasons: Mapping[str, str]
    ) -> set[str]:
        from mlrun.backends.slurm.reconcile import reconcile

        return reconcile(store, runs, reasons)


def _what(cwd: Path) -> str:
    return f"in {cwd}"


BACKEND = SlurmBackend()
