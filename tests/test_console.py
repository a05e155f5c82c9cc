"""The local console: chat syntax in, the same replies out, attachments saved."""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import pty
import re
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from bot.console import (
    BY_PATH,
    Console,
    Invocation,
    command_lines,
    help_text,
    line_editing,
    parse,
    typed_lines,
)
from explorer.contract import UserError
from tests.conftest import make_settings, running

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize(
    ("line", "path", "arguments"),
    [
        ("/models", "models", {}),
        (
            "/attention text:I am studying NLP. layer:2",
            "attention",
            {"text": "I am studying NLP.", "layer": 2},
        ),
        (
            "attention text:a: b head:3 model:rbt3",
            "attention",
            {"text": "a: b", "head": 3, "model": "rbt3"},
        ),
        ("/attention text:My model: BERT", "attention", {"text": "My model: BERT"}),
        ("/tokenize text:see https://example.com/x", "tokenize", {"text": "see https://example.com/x"}),
        ('/tokenize text:"ratio:3 and view:x"', "tokenize", {"text": "ratio:3 and view:x"}),
        ("/forward text:hi attentions:yes", "forward", {"text": "hi", "attentions": True}),
        ("/config key:vocab_size", "config", {"key": "vocab_size"}),
        (
            "/tokenize text:我在学习 text_pair:今天",
            "tokenize",
            {"text": "我在学习", "text_pair": "今天"},
        ),
        ("/admin load model:tiny", "admin load", {"model": "tiny"}),
        ("/tokenize text:line one\nline two", "tokenize", {"text": "line one\nline two"}),
    ],
)  # fmt: skip
def test_parse_chat_syntax(line, path, arguments):
    assert parse(line) == Invocation(BY_PATH[path], arguments)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/bogus", "Unknown command. Commands: /tokenize, /attention"),
        ("/attention layer:2", "/attention needs `text:`"),
        ("/attention text:x layer:two", "`layer` must be a whole number, got `two`"),
        ("/forward text:x attentions:maybe", "`attentions` must be true or false"),
        ("/models please", "`please` is not an option of /models"),
        ("/attention text:x bogus:1", "`bogus` is not an option here"),
        ("/attention bogus:1 text:x", "`bogus` is not an option of /attention"),
        ("/attention text:x view:sideways", "`view` must be one of head, mean"),
        ("/load model:tiny", "Unknown command"),
        ("/tokenize text:hi model:", "^`model:` is empty: give it a value, or leave it out for"),
        ('/tokenize text:hi model:""', "^`model:` is empty: give it a value, or leave it out"),
        ('/tokenize text:""', "^`text:` is empty: give it a value\\.$"),
        ("/attention text:hi layer:", "^`layer:` is empty: give it a value, or leave it out"),
    ],
)
def test_parse_errors_are_explained(line, message):
    with pytest.raises(UserError, match=message):
        parse(line)


async def test_console_prints_replies_and_saves_attachments(runtime, tmp_path):
    out = io.StringIO()
    console = Console(runtime, tmp_path, out)
    status = await console.run_lines(
        [
            "/tokenize text:I am studying NLP.",
            "",
            "# a comment",
            "/attention text:I am studying NLP.",
        ]
    )
    printed = out.getvalue()
    assert status == 0
    assert "> /tokenize text:I am studying NLP." in printed and "##p" in printed
    saved = tmp_path / "001-attention-attention.png"
    assert f"📎 saved {saved}" in printed
    assert saved.read_bytes().startswith(b"\x89PNG")


async def test_the_console_steps_the_latest_live_reply_by_typed_steps(runtime, tmp_path):
    out = io.StringIO()
    console = Console(runtime, tmp_path, out)
    lines = ["/attention text:I am studying NLP. layer:2", "layer+", "heads", "head+",
             "/tokenize text:hi", "layer+"]  # fmt: skip
    assert await console.run_lines(lines) == 1
    printed = out.getvalue().split("\n> ")
    steps = "↪ Steps: layer-, layer+, head-, head+ · view: head, heads, model, rollout, "
    assert steps in printed[0]
    assert "**minilm · layer 3/6 · mean of 12 heads**" in printed[1]
    assert "**minilm · layer 3/6 · all 12 heads**" in printed[2]
    assert "↪ Steps: layer-, layer+ · view: head, mean, model," in printed[2]
    assert "`head+` is not a step here. Steps: layer-, layer+ · view: " in printed[3]
    assert "Unknown command" in printed[5]  # /tokenize's reply is not live: nothing to step
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "001-attention-attention.png",
        "002-attention-attention.png",
        "003-attention-attention.png",
    ]
    assert "type one of its steps to step it" in help_text()


async def test_console_reports_errors_and_keeps_going(runtime, tmp_path):
    out = io.StringIO()
    status = await Console(runtime, tmp_path, out).run_lines(
        ["/attention text:x model:gone", "/tokenize text:hello model:tiny"]
    )
    assert status == 1
    assert "⚠️ The model **gone** is configured from a local directory" in out.getvalue()
    assert "**tiny** · 5 characters → 3 tokens" in out.getvalue()


def test_python_m_bot_without_token_runs_the_console(tmp_path, tiny_dir):
    env = {
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
        "MODELS": f"tiny={tiny_dir}",
        "CONSOLE_OUTPUT_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        input="/attention text:我在学习\n/help\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "No DISCORD_TOKEN set: starting the local console instead." in done.stderr
    assert "**tiny · layer 2/2 · mean of 4 heads** · 6 tokens" in done.stdout
    assert "/attention text:… [model:…] [layer:…] [head:…] [text_pair:…]" in done.stdout
    assert (tmp_path / "001-attention-attention.png").is_file()
    assert "Loading weights" not in done.stderr  # no progress bars in the bot's output


def test_bad_setting_stops_with_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bot", "console", "/models"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "WORKER_THREADS": "lots"},
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "Configuration error: WORKER_THREADS must be a whole number, got 'lots'"
    )


def test_piped_lines_that_do_not_start_a_command_continue_it():
    lines = ["/tokenize text:first line\n", "second line\n", "\n", "# a note\n", "/models\n"]
    assert list(command_lines(lines)) == ["/tokenize text:first line\nsecond line", "/models"]


async def test_a_second_run_never_overwrites_the_first_runs_files(runtime, tmp_path):
    for _ in range(2):
        await Console(runtime, tmp_path, io.StringIO()).run_lines(["/attention text:hello"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "001-attention-attention.png",
        "002-attention-attention.png",
    ]


async def test_each_command_prints_how_long_it_took(runtime, tmp_path):
    out = io.StringIO()
    await Console(runtime, tmp_path, out).run_lines(["/models"])
    assert re.search(r"⏱ \d+\.\d\d s", out.getvalue())


async def test_the_consoles_status_shows_p50_and_p95_per_command(runtime, tmp_path):
    out = io.StringIO()
    console = Console(runtime, tmp_path, out)
    await console.run_lines(["/tokenize text:hello model:tiny", "/status"])
    table = out.getvalue().split("p95 ms")[1]
    row = next(line.split() for line in table.splitlines() if line.startswith("tokenize "))
    count, failed, p50, p95 = map(int, row[1:])
    assert count >= 1 and failed == 0 and 0 <= p50 <= p95


class Terminal:
    """`python -m bot console` on a pseudo-terminal, as a person at a keyboard runs it."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        main, child = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "console"],
            stdin=child, stdout=child, stderr=child, cwd=cwd, env=env,
            preexec_fn=self._own_terminal,  # noqa: PLW1509 (TIOCSCTTY needs a pre-exec hook)
        )  # fmt: skip
        os.close(child)
        self.fd = main
        self.seen = ""

    @staticmethod
    def _own_terminal() -> None:
        """In the child: a session of its own with the pseudo-terminal as its terminal, so
        Ctrl-C typed there interrupts it."""
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    def wait_for(self, text: str, timeout: float = 120) -> str:
        """Everything printed until `text` appears (after what was waited for before)."""
        deadline = time.monotonic() + timeout
        start = len(self.seen)
        while text not in self.seen[start:]:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"waited for {text!r}; saw {self.seen[start:]!r}"
            if select.select([self.fd], [], [], remaining)[0]:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the console has exited
                    chunk = b""
                assert chunk, f"the console exited before {text!r}; saw {self.seen[start:]!r}"
                self.seen += chunk.decode(errors="replace")
        return self.seen[start:]

    def wait_at_prompt(self, timeout: float = 120) -> str:
        """Until the prompt shows and the console waits there for a key (its main thread
        asleep in `select`): a Ctrl-C typed a moment earlier would land before the read."""
        seen = self.wait_for("» ", timeout)
        wchan = Path(f"/proc/{self.process.pid}/wchan")
        deadline = time.monotonic() + timeout
        while "select" not in wchan.read_text() and "poll_schedule" not in wchan.read_text():
            assert time.monotonic() < deadline, f"the console never waited at its prompt: {seen!r}"
            time.sleep(0.01)
        return seen

    def type(self, keys: str) -> None:
        """Type keys (a line ends with a carriage return, as Enter sends)."""
        os.write(self.fd, keys.encode())

    def close(self) -> int:
        """The exit status, once the console has ended."""
        status = self.process.wait(timeout=60)
        with contextlib.suppress(OSError):
            while os.read(self.fd, 4096):
                pass
        os.close(self.fd)
        return status


@pytest.fixture
def terminal(tmp_path, rbt3_dir):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),  # the history file goes here
        "TERM": "dumb",
        "HF_HUB_OFFLINE": "1",
        "MODELS": f"rbt3={rbt3_dir}",
        "CONSOLE_OUTPUT_DIR": str(tmp_path / "out"),
    }
    console = Terminal(env, ROOT)
    yield console
    if console.process.poll() is None:
        console.process.kill()
        console.close()


def test_ctrl_c_cancels_a_command_and_at_the_prompt_quits_cleanly(terminal, tmp_path):
    terminal.wait_for("» ")
    terminal.type("/attention text:我在学习\r")
    terminal.wait_for("loading model rbt3")  # the command is under way
    terminal.type("\x03")
    assert "⏹ Cancelled." in terminal.wait_for("» ")
    terminal.type("/models\r")
    assert "`rbt3`" in terminal.wait_at_prompt()  # the console carries on
    terminal.type("\x03")  # at the prompt: quit
    assert terminal.close() in (0, 1)
    assert "Traceback" not in terminal.seen and "KeyboardInterrupt" not in terminal.seen
    history = (tmp_path / ".model_explorer_history").read_text(encoding="utf-8")
    assert "/attention text:我在学习" in history and "/models" in history


def test_the_console_works_without_readline(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "readline", None)  # as on a Python built without it
    assert line_editing(tmp_path / "history") is False
    typed = ["/models", "/help"]

    def read(prompt: str) -> str:
        if not typed:
            raise EOFError  # Ctrl-D
        return typed.pop(0)

    assert list(typed_lines(tmp_path / "history", read)) == ["/models", "/help"]
    assert not (tmp_path / "history").exists()


async def test_a_chinese_console_answers_and_steps_in_chinese(tiny_dir, tmp_path):
    settings = make_settings(f"tiny={tiny_dir}", CONSOLE_LANGUAGE="zh-CN")
    out = io.StringIO()
    async with running(settings) as runtime:
        console = Console(runtime, tmp_path, out)
        assert await console.run_lines(
            ["/tokenize text:hello", "/attention text:hello world layer:1", "layer+", "nope"]
        ) == 1  # fmt: skip
    printed = out.getvalue().split("\n> ")
    assert "**tiny** · 5 个字符 → 3 个词元（2 个特殊词元，标 *）" in printed[0]
    assert "**tiny · 第 1/2 层 · 4 个头的平均** · " in printed[1]
    assert "↪ 步骤：layer-, layer+, head-, head+ · view: " in printed[1]  # typed as they are
    assert "**tiny · 第 2/2 层 · 4 个头的平均**" in printed[2]
    assert "`nope` 不是这里的步骤。步骤：layer-, layer+" in printed[3]
    for english in ("characters", "layer 1/2", "mean of", "Steps:", "not a step"):
        assert english not in out.getvalue(), english


def test_the_help_is_told_in_the_consoles_language_with_names_as_typed():
    english, chinese = help_text(), help_text("zh-CN")
    assert english.startswith("Commands (options as name:value; [optional]):\n  /tokenize ")
    assert chinese.startswith("命令（选项写作 名称:值；[可选]）：\n  /tokenize text:… [model:…]")
    assert "      把文本切分成词元，列出 id、词元类型和注意力掩码。" in chinese
    assert "— 可选：head, mean, heads, model, rollout, token, links, summary" in chinese
    assert "Split text into tokens" not in chinese and "one of:" not in chinese
