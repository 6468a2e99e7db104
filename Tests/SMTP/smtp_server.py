"""A real SMTP server for the invitation tests: aiosmtpd (PyPI) on
127.0.0.1, a free port. Prints "listening PORT" once it accepts connections.

    smtp_server.py OUT_DIR [--tls CERT KEY] [--auth USER PASSWORD]
                           [--refuse ADDRESS] [--mute] [--inject]

--tls       offer STARTTLS with this certificate and require it
            (require_starttls: nothing but EHLO, STARTTLS, NOOP, QUIT
            before TLS). Without it the server offers no STARTTLS.
--auth      require AUTH (PLAIN or LOGIN) with these credentials, over TLS only.
--refuse    answer RCPT TO for this address with 550.
--mute      not SMTP at all: accept connections and never answer.
--inject    not aiosmtpd: a tiny server that answers STARTTLS's 220 with a
            second, plaintext reply in the same packet (the STARTTLS
            command injection of CVE-2011-0411), to see the client refuse it.

Every command the server gets is appended by name (EHLO, AUTH, MAIL,
RCPT, DATA) to OUT_DIR/events.log, so a test can tell that no MAIL
came. Every message accepted is written as OUT_DIR/mail-N.json: the envelope,
whether it came over TLS and authenticated, the raw content, and what
Python's email package reads out of it: each header decoded (RFC 2047), the
body decoded (quoted-printable or base64, and the charset)."""
import asyncio
import email
import email.policy
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

out_dir = sys.argv[1]
args = sys.argv[2:]


def option(name, count):
    if name not in args:
        return None
    index = args.index(name)
    return args[index + 1:index + 1 + count]


tls = option("--tls", 2)
auth = option("--auth", 2)
refused = option("--refuse", 1)
mute = "--mute" in args
inject = "--inject" in args


def event(name):
    with open(os.path.join(out_dir, "events.log"), "a") as log:
        log.write(name + "\n")


class Recorder:
    def __init__(self):
        self.count = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        event("EHLO")
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        event("MAIL")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        event("RCPT")
        if refused and address == refused[0]:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        event("DATA")
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        record = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
            "raw": raw.decode("utf-8", errors="replace"),
            "headers": [[name, str(value)] for name, value in message.items()],
            "subject": str(message["subject"]),
            "contentType": message.get_content_type(),
            "charset": message.get_content_charset(),
            "transferEncoding": message.get("Content-Transfer-Encoding", ""),
            "body": message.get_content(),
            "defects": [type(d).__name__ for d in message.defects],
        }
        self.count += 1
        path = os.path.join(out_dir, f"mail-{self.count}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    event("AUTH")
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == auth[0].encode() and auth_data.password == auth[1].encode())
    return AuthResult(success=ok, handled=False)


context = None
if tls:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls[0], tls[1])

handler = Recorder()


def smtp():
    return SMTP(
        handler,
        hostname="smtp.test",
        tls_context=context,
        require_starttls=context is not None,
        auth_required=auth is not None,
        auth_require_tls=True,
        authenticator=authenticator if auth else None,
        decode_data=False,
    )


async def muted(reader, writer):
    await reader.read()  # until the client gives up


async def injecting(reader, writer):
    writer.write(b"220 smtp.test ESMTP\r\n")
    while line := await reader.readline():
        command = line.strip().upper()
        if command.startswith(b"EHLO"):
            event("EHLO")
            writer.write(b"250-smtp.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
        elif command == b"STARTTLS":
            event("STARTTLS")
            writer.write(b"220 Ready to start TLS\r\n250-injected\r\n250 AUTH PLAIN\r\n")
        elif command == b"QUIT":
            writer.write(b"221 Bye\r\n")
            break
        else:
            event(command.split(b" ")[0].split(b":")[0].decode("ascii", "replace"))
            writer.write(b"502 Not here\r\n")
        await writer.drain()
    writer.close()


async def main():
    loop = asyncio.get_running_loop()
    if mute:
        server = await asyncio.start_server(muted, "127.0.0.1", 0)
    elif inject:
        server = await asyncio.start_server(injecting, "127.0.0.1", 0)
    else:
        server = await loop.create_server(smtp, "127.0.0.1", 0)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
