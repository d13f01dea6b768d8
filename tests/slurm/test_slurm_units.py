"""The Slurm backend's pure parts, without a cluster: its settings, how each ending
Slurm reports maps to the run's status (from sacct's and squeue's own text, as captured
on the CI cluster, see docs/services.md), the batch script and what it carries."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlrun.backends.slurm import config as slurm_config
from mlrun.backends.slurm.ctl import parse_sacct, parse_squeue
from mlrun.backends.slurm.script import (
    JobFiles,
    environ_file,
    sbatch_environ,
    sbatch_options,
    script,
    write_private,
)
from mlrun.backends.slurm.states import ending, is_active
from mlrun.errors import UsageError
from mlrun.tracking.status import FAILED, FINISHED, KILLED

# `sacct -X -n -P -j ... -o JobID,State,ExitCode,NodeList,Partition,Reason`, one line per
# ending, as Slurm 22.05 printed them here.
SACCT = """\
201|COMPLETED|0:0|vm|debug|None
202|FAILED|3:0|vm|debug|None
203|CANCELLED by 0|0:0|vm|debug|None
204|TIMEOUT|0:15|vm|batch|None
205|OUT_OF_MEMORY|0:125|vm|debug|None
206|NODE_FAIL|0:15|vm|debug|None
207|PREEMPTED|0:0|vm|debug|None
208|FAILED|0:9|vm|debug|None
209|BOOT_FAIL|0:0|vm|debug|None
210|FAILED|0:0|vm|debug|None
211|RUNNING|0:0|vm|debug|None
211_3|COMPLETED|0:0|vm|debug|None
"""


@pytest.mark.parametrize(
    ("job", "status", "code", "words"),
    [
        ("201", FINISHED, 0, None),
        ("202", FAILED, 3, "the command exited with 3"),
        ("203", KILLED, 143, "Slurm job 203 was cancelled (by uid 0)"),
        ("204", FAILED, 143, "Slurm job 204 reached its time limit (time=1)"),
        ("205", FAILED, 137, "Slurm job 205 ran out of memory (mem=20M)"),
        ("206", FAILED, 143, "Slurm job 206 lost its node (NODE_FAIL)"),
        ("207", KILLED, 143, "Slurm job 207 was preempted by a job of higher priority"),
        ("208", FAILED, 137, "the command was ended by SIGKILL (Slurm job 208)"),
        ("209", FAILED, 125, "Slurm job 209 could not start: its node failed to boot"),
        ("210", FAILED, 1, "Slurm job 210 ended FAILED before the command ran"),
    ],
)
def test_every_ending_from_sacct_maps_to_a_status_exit_code_and_reason(
    job: str, status: str, code: int, words: str | None
) -> None:
    info = parse_sacct(SACCT, [job])[job]
    end = ending(job, info.state, info.exit_code, {"time": "1", "mem": "20M"})
    assert (end.status, end.exit_code, end.reason) == (status, code, words)


def test_sacct_text_keeps_only_the_jobs_asked_for_and_knows_what_still_runs() -> None:
    found = parse_sacct(SACCT, ["211", "999"])
    assert list(found) == ["211"]  # not the array task 211_3, nothing for 999
    assert is_active(found["211"].state)
    assert not is_active(parse_sacct(SACCT, ["203"])["203"].state)


def test_squeue_text_gives_state_node_and_the_exit_code_from_the_wait_status() -> None:
    text = "124|COMPLETED|0|vm|debug|None|\n125|FAILED|768|vm|debug|NonZeroExitCode|\n"
    text += "126|PENDING|0|||Priority|\n127|CANCELLED|15|vm|urgent|None|\n"
    found = parse_squeue(text)
    assert (found["125"].state, found["125"].exit_code, found["125"].reason) == (
        "FAILED",
        "3:0",
        "NonZeroExitCode",
    )
    assert (found["126"].node, found["126"].reason) == ("", "Priority")
    assert found["127"].exit_code == "0:15" and found["124"].reason == ""
    assert ending("125", "FAILED", found["125"].exit_code).exit_code == 3


def test_the_config_keys_become_sbatch_directives_in_a_fixed_order() -> None:
    cfg = slurm_config.parse(
        {
            "qos": "normal",
            "partition": "debug,batch",
            "time": "1-02:00:00",
            "mem": "4G",
            "cpus_per_task": 2,
            "gpus": "a100:2",
            "account": "ml-team",
            "constraint": "skylake&ib",
            "extra": ["--exclusive", "#SBATCH --nodes=1"],
            "setup": "module load python/3.11",
            "env_cache": "~/shared-envs",
            "poll_interval": 2,
        }
    )
    assert cfg.directives() == [
        "#SBATCH --partition=debug,batch",
        "#SBATCH --time=1-02:00:00",
        "#SBATCH --mem=4G",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --gpus=a100:2",
        "#SBATCH --account=ml-team",
        "#SBATCH --qos=normal",
        "#SBATCH --constraint=skylake&ib",
        "#SBATCH --exclusive",
        "#SBATCH --nodes=1",
    ]
    assert cfg.setup == ["module load python/3.11"]
    assert cfg.env_cache == Path("~/shared-envs").expanduser()
    assert (cfg.poll_interval, cfg.requeue) == (2.0, False)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"partiton": "debug"}, "no setting 'partiton' (did you mean 'partition'?)"),
        ({"partition": "debug\n#SBATCH --uid=0"}, "'partition' must be a partition name"),
        ({"partition": "a b"}, "'partition' must be a partition name"),
        ({"time": "soon"}, "'time' must be minutes or [D-]HH:MM:SS, not \"soon\""),
        ({"mem": "4 GB"}, "'mem' must be a size in MB"),
        ({"cpus_per_task": 0}, "'cpus_per_task' must be a positive whole number, not 0"),
        ({"cpus_per_task": True}, "'cpus_per_task' must be a positive whole number, not true"),
        ({"gpus": 1.5}, "'gpus' must be a count, or TYPE:COUNT, not 1.5"),
        ({"extra": ["exclusive"]}, "'extra' must list sbatch options, one per item"),
        ({"extra": ["--a\n--b"]}, "'extra' must list sbatch options"),
        ({"setup": [1]}, "'setup' must be a string or a list of strings, not [1]"),
        ({"env_cache": ""}, "'env_cache' must be a directory path"),
        ({"poll_interval": 0}, "'poll_interval' must be a number of seconds"),
        ({"requeue": "yes"}, "'requeue' must be true or false"),
    ],
)
def test_a_bad_setting_is_one_sentence_naming_the_key_and_value(
    config: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        slurm_config.parse(config)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def _bash(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", *argv], capture_output=True, text=True, env=env, check=False)


def test_the_environment_file_gives_the_job_every_value_exactly(tmp_path: Path) -> None:
    hostile = {
        "PLAIN": "x",
        "QUOTES": 'it\'s "quoted" $HOME `id` $(id)',
        "NEWLINE": "one\ntwo",
        "EMPTY": "",
        "UNICODE": "caf\u00e9",
        "PATH": "/opt/env/bin:/usr/bin:/bin",
        # Never copied: Slurm's own, bash's, and what describes the submitting host.
        "SLURM_JOB_ID": "1",
        "SBATCH_PARTITION": "x",
        "BASH_FUNC_f%%": "() { :; }",
        "HOSTNAME": "login1",
        "TMPDIR": "/tmp/login",
        "UID": "0",
        "bad-name": "x",
    }
    path = tmp_path / "environ"
    write_private(path, environ_file(hostile))
    assert path.stat().st_mode & 0o777 == 0o600
    shown = _bash("-c", f". {path} && env -0", env={"HOSTNAME": "node1"}).stdout
    got = dict(item.split("=", 1) for item in shown.split("\0") if "=" in item)
    for name in ("PLAIN", "QUOTES", "NEWLINE", "EMPTY", "UNICODE", "PATH"):
        assert got[name] == hostile[name]
    assert got["HOSTNAME"] == "node1"
    for name in ("SLURM_JOB_ID", "SBATCH_PARTITION", "TMPDIR", "bad-name"):
        assert name not in got


def test_sbatch_sees_no_secret_and_the_configs_keys_win_over_sbatch_variables() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "LC_ALL": "C.UTF-8",
        "MLFLOW_TRACKING_TOKEN": "s3cret",
        "AWS_SECRET_ACCESS_KEY": "s3cret",
        "SBATCH_PARTITION": "users-default",
        "SBATCH_ACCOUNT": "users-account",
        "SBATCH_WAIT": "1",
        "SLURM_CONF": "/etc/slurm/other.conf",
        "SLURM_JOB_ID": "77",
        "BASH_FUNC_module%%": "() { eval $($LMOD_CMD bash $*); }",
    }
    kept = sbatch_environ(environ, slurm_config.parse({"partition": "gpu"}))
    assert kept == {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "LC_ALL": "C.UTF-8",
        "SBATCH_ACCOUNT": "users-account",
        "SLURM_CONF": "/etc/slurm/other.conf",
        "BASH_FUNC_module%%": "() { eval $($LMOD_CMD bash $*); }",
    }


def test_the_script_runs_the_exact_argv_and_writes_the_exit_code(tmp_path: Path) -> None:
    files = JobFiles(tmp_path / "job dir")
    files.directory.mkdir()
    cwd = tmp_path / "project; rm -rf ~"
    cwd.mkdir()
    write_private(files.environ, environ_file({"GREETING": "hi $USER", "PATH": os.defpath}))
    argv = ["bash", "-c", 'printf "%s|" "$GREETING" "$@"; exit 3', "x", "a b", "$(id)", "'"]
    cfg = slurm_config.parse({"setup": ["export SETUP_RAN=yes"]})
    files.script.write_text(script(argv, cwd, files, cfg, "mlrun run r1\nsecond line"))
    proc = _bash(str(files.script), env={"PATH": os.defpath})
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "hi $USER|a b|$(id)|'|"
    assert files.exit.read_text() == "3\n"
    assert not files.environ.exists()  # read once, then removed
    text = files.script.read_text()
    assert "# mlrun run r1 second line\n" in text and "hi $USER" not in text


def test_a_failing_setup_line_ends_the_job_before_the_command(tmp_path: Path) -> None:
    files = JobFiles(tmp_path)
    write_private(files.environ, environ_file({"PATH": os.defpath}))
    cfg = slurm_config.parse({"setup": ["false", "echo not reached"]})
    files.script.write_text(script(["echo", "command"], tmp_path, files, cfg, "t"))
    proc = _bash(str(files.script))
    assert (proc.returncode, proc.stdout, files.exit.exists()) == (1, "", False)


def test_mlruns_own_sbatch_options_carry_paths_with_spaces_and_percent(tmp_path: Path) -> None:
    files = JobFiles(tmp_path / "100% sure")
    options = sbatch_options("abc", files, tmp_path, slurm_config.parse({}), "in x")
    assert f"--output={tmp_path}/100%% sure/stdout" in options
    assert "--job-name=mlrun-abc" in options and "--comment=mlrun run abc: in x" in options
    assert "--no-requeue" in options
    assert "--requeue" in sbatch_options(
        "abc", files, tmp_path, slurm_config.parse({"requeue": True}), ""
    )
