#!/usr/bin/python3
"""A second, independent SMTP server for relayscan's tests: aiosmtpd (Debian's
python3-aiosmtpd) with a relay policy, on one loopback address.

    tests/mta/aiosmtpd-relay.py POLICY ADDRESS PORT

POLICY: open (accepts every recipient), closed (550 5.7.1 for recipients outside
aio.test), defer (451 4.7.1 for them), auth (aiosmtpd's auth_required: 530 5.7.0 before
AUTH, and no login ever succeeds). Prints "ready ADDRESS PORT" when it listens, then
serves until stdin closes or it is killed. Nothing is delivered: DATA is refused.
"""
import ipaddress
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

LOCAL_DOMAIN = "aio.test"


class Policy:
    def __init__(self, policy):
        self.policy = policy

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.lower().endswith("@" + LOCAL_DOMAIN)
        if self.policy == "open" or local:
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"
        if self.policy == "defer":
            return "451 4.7.1 Relaying temporarily refused, try again later"
        return "550 5.7.1 Relaying denied"

    async def handle_DATA(self, server, session, envelope):
        # relayscan never sends DATA; should anything else, nothing is accepted.
        return "554 5.7.0 This test server delivers nothing"


def refuse_everyone(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=False, handled=False)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("open", "closed", "defer", "auth"):
        sys.exit("usage: aiosmtpd-relay.py open|closed|defer|auth ADDRESS PORT")
    policy, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if not ipaddress.ip_address(address).is_loopback:
        sys.exit(f"{address}: only loopback addresses")
    kwargs = dict(hostname=address, port=port, server_hostname=f"{policy}.aio.test")
    if policy == "auth":
        kwargs.update(auth_required=True, authenticator=refuse_everyone)
    controller = Controller(Policy(policy), **kwargs)
    controller.start()
    print(f"ready {address} {port}", flush=True)
    try:
        # Serve until the test closes our stdin (or kills us).
        while sys.stdin.read(1):
            time.sleep(0.1)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
