"""mail/smtp 1.0: SEND_MAIL {to, subject, body} through the SMTP server of its keys, then the event MAIL_SENT.

Python's standard library (smtplib, email) and the worker-admin SDK only: a packaged Python worker gets the
standard library plus the host's grpcio, nothing else.
"""
import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from worker_admin import start_worker


def deliver(config, to, subject, body):
    """Sends one mail (blocking: run in a thread); returns its Message-ID."""
    message = EmailMessage()
    message["From"] = config["from"]
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=config["from"].rpartition("@")[2] or "localhost")
    message.set_content(body)
    with smtplib.SMTP(config["host"], int(config["port"]), timeout=30) as smtp:
        if config["starttls"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["username"]:
            smtp.login(config["username"], config["password"])
        refused = smtp.send_message(message)
    if refused:
        raise RuntimeError(f"the server refused {', '.join(sorted(refused))}")
    return message["Message-ID"]


async def send_mail(payload, ctx):
    config = ctx.worker.config
    to = payload["to"] if isinstance(payload["to"], list) else [payload["to"]]
    where = f"{config['host']}:{config['port']}"
    try:
        message_id = await asyncio.to_thread(deliver, config, to, payload["subject"], payload["body"])
    except smtplib.SMTPAuthenticationError as error:
        # the admin hears of it too (WORKER_ERROR); the message names the login, never the password
        await ctx.worker.report_error(f"SMTP {where} refused the login of {config['username']}", is_auth_error=True)
        raise RuntimeError(f"SMTP {where} refused the login of {config['username']}: {error.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as error:
        raise RuntimeError(f"SMTP {where}: {type(error).__name__}: {error}") from None
    sent = {"to": to, "subject": payload["subject"], "message_id": message_id}
    await ctx.worker.emit("MAIL_SENT", sent, reference_uuid=ctx.uuid)
    return sent


start_worker(commands={"SEND_MAIL": send_mail}, events=["MAIL_SENT"])
