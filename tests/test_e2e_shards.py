"""Gateway sharding through real bot processes: two processes, each running half of the shards
(SHARD_COUNT=2, SHARD_IDS), against a fake Discord with a server on each shard."""

from __future__ import annotations

import asyncio

from tests.bot_process import BotProcess
from tests.fake_discord import GUILD_ID, FakeDiscord, message_data, shard_of
from tests.test_e2e_discord import components

OTHER_GUILD = GUILD_ID + (1 << 22)  # the next shard's server
FAST = {"USER_COOLDOWN_SECONDS": "0", "SHARD_COUNT": "2",
        "DISCORD_GUILD_IDS": f"{GUILD_ID},{OTHER_GUILD}"}  # fmt: skip


async def test_two_processes_with_half_the_shards_each_answer_their_servers(tmp_path, tiny_dir):
    assert shard_of(GUILD_ID, 2) != shard_of(OTHER_GUILD, 2)
    server = FakeDiscord(guild_ids=(GUILD_ID, OTHER_GUILD))
    await server.start()
    # Both logs in one folder: the two processes share one database, as shards of a bot do.
    first = BotProcess(server, tmp_path / "shard-0.log", f"tiny={tiny_dir}", SHARD_IDS="0", **FAST)
    second = BotProcess(server, tmp_path / "shard-1.log", f"tiny={tiny_dir}", SHARD_IDS="1", **FAST)
    try:
        await first.start()
        await second.start(syncs=False)
        texts = {GUILD_ID: "hello", OTHER_GUILD: "hello there"}
        asked = {
            guild: await server.slash("tokenize", text=text, guild_id=guild)
            for guild, text in texts.items()
        }
        for guild, interaction in asked.items():
            answer = message_data(await interaction.answer())
            assert answer["content"].startswith(f"**tiny** · {len(texts[guild])} characters")
        # Each process answered the server on its own shard, and only that one.
        for process in (first, second):
            await process.logged("command=tokenize")  # the log line follows the answer
            assert process.log().count("command=tokenize") == 1
        # An exploration in the second process's server, and a press on it there.
        explored = await server.slash("attention", text="sharded", guild_id=OTHER_GUILD)
        message = (await explored.answer()).response
        pressed = await server.press(message, components(message)["layer-"]["custom_id"])
        await pressed.wait(lambda i: bool(i.answers()))
        assert "layer 1/2" in pressed.answers()[-1].response["content"]
        # Only the process with shard 0 synced the commands (once per server).
        syncs = [r for r in server.requests if r.method == "PUT" and "commands" in r.path]
        assert len(syncs) == 2
        assert "commands are synced by the process with shard 0" in second.log()
        results = await asyncio.gather(first.terminate(), second.terminate())
        assert results == [0, 0]
    finally:
        for process in (first, second):
            if process.process is not None and process.process.returncode is None:
                process.process.kill()
        await server.stop()
