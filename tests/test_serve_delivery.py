"""Changes out (segrules serve, step 6): the change webhook (at least once, in order, signed,
a receiver outage backs up and drains, a restart resends only what was not acknowledged) and
the spec's destinations through the sync engine."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import httpx
import pytest

import segrules
from segrules.demo import DEMO_NOW
from segrules.serve.delivery import ChangeWebhook, DestinationSync
from segrules.serve.service import Service
from serve_helpers import Clock, batch_members, load, shop_copy, write_shop


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_shop(tmp_path_factory.mktemp("serve_delivery"), customers=30)


class Receiver:
    """An in-process webhook receiver (an httpx transport): records bodies, de-duplicates on
    change ids, answers 503 while ``down``."""

    def __init__(self, secret=None):
        self.down, self.secret = False, secret
        self.bodies, self.ids, self.replays = [], [], 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(503)
        if self.secret:
            expected = "sha256=" + hmac.new(self.secret.encode(), request.content, hashlib.sha256).hexdigest()
            assert request.headers["x-segrules-signature"] == expected
        body = json.loads(request.content)
        self.bodies.append(body)
        for c in body["changes"]:
            if c["change_id"] in self.ids:
                self.replays += 1
            else:
                self.ids.append(c["change_id"])
        return httpx.Response(200)


ORDER = {"order_id": 880001, "customer_id": 3, "ordered_at": "2026-09-30T10:00:00", "amount": "990.00",
         "status": "paid"}


def test_serve_delivery_webhook_outage_backs_up_and_drains_in_order(template, tmp_path):
    con = segrules.connect(str(shop_copy(template, tmp_path)))
    service = Service(load("ecommerce"), con, clock=Clock(), sweep_every=None)
    receiver = Receiver(secret="s3cret")
    hook = ChangeWebhook(service, "http://receiver.test/changes", secret="s3cret", batch=7,
                         transport=httpx.MockTransport(receiver))
    assert hook.drain() == service.latest_seq  # the first membership: every member entered
    receiver.down = True
    service.ingest("orders", [ORDER])
    service.evaluate()
    with pytest.raises(RuntimeError):
        hook.drain()
    assert hook.backlog() > 0 and hook.cursor < service.latest_seq
    receiver.down = False
    assert hook.drain() > 0 and hook.backlog() == 0
    recorded = service.changes(0, limit=10**6)
    assert receiver.ids == [c.change_id for c in recorded] and receiver.replays == 0
    assert all(len(b["changes"]) <= 7 for b in receiver.bodies)


def test_serve_delivery_webhook_restart_resends_only_the_unacknowledged(template, tmp_path):
    path = shop_copy(template, tmp_path)
    service = Service(load("ecommerce"), segrules.connect(str(path)), clock=Clock(), sweep_every=None)
    receiver = Receiver()
    hook = ChangeWebhook(service, "http://r.test/", transport=httpx.MockTransport(receiver))
    hook.drain()
    service.ingest("orders", [ORDER])
    service.evaluate()
    # killed after the receiver acknowledged, before the cursor was committed
    hook._advance = lambda seq: (_ for _ in ()).throw(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        hook.deliver()
    acknowledged = len(receiver.ids)
    service.con.disconnect()
    again = Service(load("ecommerce"), segrules.connect(str(path)), clock=Clock(), sweep_every=None)
    ChangeWebhook(again, "http://r.test/", transport=httpx.MockTransport(receiver)).drain()
    assert len(receiver.ids) == acknowledged and receiver.replays > 0  # the same ids again, nothing new lost
    assert receiver.ids == [c.change_id for c in again.changes(0, limit=10**6)]


SYNC_SPEC = """
version: 1
name: rt_sync
entity: {table: customers, key: customer_id}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
segments:
  big: {where: sum(orders.amount within 30d) > 500}
destinations:
  hook: {type: webhook, url: "${HOOK_URL}"}
syncs:
  big_to_hook: {segment: big, destination: hook, identify_by: email}
"""


def test_serve_delivery_destinations_through_the_sync_engine(template, tmp_path):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from emulators.webhook import WebhookReceiver

    path = shop_copy(template, tmp_path)
    spec, clock = segrules.load_text(SYNC_SPEC), Clock()
    service = Service(spec, segrules.connect(str(path)), clock=clock, sweep_every=None)
    with WebhookReceiver() as receiver:
        outlet = DestinationSync(service, lambda: segrules.connect(str(path)), state=str(tmp_path / "state.duckdb"),
                                 env={"HOOK_URL": receiver.url})
        outlet.drain()
        service.ingest("orders", [{**ORDER, "customer_id": 7}])
        service.evaluate()
        clock.now = DEMO_NOW + timedelta(days=40)  # every 30-day sum is empty again: all leave
        service.step()
        assert outlet.drain() > 0 and outlet.backlog() == 0
        assert receiver.members == {}
        clock.now = DEMO_NOW + timedelta(days=40, seconds=1)
        service.ingest("orders", [{**ORDER, "order_id": 880002, "customer_id": 7,
                                   "ordered_at": (DEMO_NOW + timedelta(days=40)).isoformat()}])
        service.evaluate()
        outlet.drain()
        email = service.con.table("customers").filter(lambda t: t.customer_id == 7).to_pyarrow()["email"][0].as_py()
        assert {identifier for identifier, _ in receiver.members.values()} == {email}
        assert batch_members(spec, service.con, clock.now)["big"] == {7}
