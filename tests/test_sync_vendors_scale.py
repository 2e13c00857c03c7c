"""After a 1% change on 100,000 members only the changes reach each destination (the five of
issue 17 and the older HTTP ones): the emulator counts the rows its membership requests carried."""

from __future__ import annotations

import random

import pytest

from sync_helpers import members, memory_con, run_sync, write_people
from vendor_platforms import ENV, IDS, OLDER, OLDER_IDS, VENDORS


@pytest.mark.parametrize("v", VENDORS + OLDER, ids=IDS + OLDER_IDS)
def test_vendor_one_percent_change_on_100k_members_sends_only_the_changes(v, tmp_path):
    con = memory_con()
    people = {i: (f"p{i}@x.com", "N", 60 if i % 2 else 40) for i in range(1, 200_001)}  # 100k members
    write_people(con, people)
    state = tmp_path / "s.duckdb"
    with v.emulator() as emu:
        v.prepare(emu)
        spec = v.spec(emu.url, concurrency=4, timeout=60)
        (o,) = run_sync(spec, con, state, env=ENV)
        assert o.status == "ok" and o.counts["added"] == 100_000, (o.counts, o.error)
        first = len(emu.log)
        assert v.rows_sent(emu) == 100_000
        flipped = random.Random(5).sample(sorted(people), 1_000)  # 1% of the people change membership
        for i in flipped:
            email, name, score = people[i]
            people[i] = (email, name, 100 - score)
        write_people(con, people)
        (o,) = run_sync(spec, con, state, env=ENV)
        assert o.status == "ok" and o.counts["added"] + o.counts["removed"] == 1_000 and o.counts["updated"] == 0
        assert v.rows_sent(emu, since=first) == 1_000
        assert v.audience(emu) == v.expected(people) and len(v.audience(emu)) == len(members(people))
    con.disconnect()
